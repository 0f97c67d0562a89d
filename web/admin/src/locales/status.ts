// Status words the API sends, for StatusBadge.
export default {
  "zh-CN": {
    active: "正常", inactive: "停用", pending: "待处理", pending_payment: "待支付", paid: "已支付", provisioning: "开通中",
    cancelled: "已取消", suspended: "已暂停", terminated: "已销毁", running: "运行中", stopped: "已停止", success: "成功",
    failed: "失败", refunded: "已退款", partially_refunded: "部分退款", draft: "草稿", issued: "待付款", overdue: "已逾期", void: "已作废",
    open: "待处理", processing: "处理中", resolved: "已解决", closed: "已关闭", healthy: "健康", unhealthy: "异常",
    enabled: "已启用", disabled: "已禁用", unknown: "未知", completed: "已完成", error: "错误",
    sent: "已发送", skipped: "已跳过", parked: "已搁置",
  },
  en: {
    active: "Active", inactive: "Inactive", pending: "Pending", pending_payment: "Awaiting payment", paid: "Paid", provisioning: "Provisioning",
    cancelled: "Cancelled", suspended: "Suspended", terminated: "Terminated", running: "Running", stopped: "Stopped", success: "Succeeded",
    failed: "Failed", refunded: "Refunded", partially_refunded: "Partly refunded", draft: "Draft", issued: "Issued", overdue: "Overdue", void: "Void",
    open: "Open", processing: "Processing", resolved: "Resolved", closed: "Closed", healthy: "Healthy", unhealthy: "Unhealthy",
    enabled: "Enabled", disabled: "Disabled", unknown: "Unknown", completed: "Completed", error: "Error",
    sent: "Sent", skipped: "Skipped", parked: "Parked",
  },
};
