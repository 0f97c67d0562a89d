// Generic terms of service and privacy policy for a hosting reseller.
// Placeholder text: operators replace it with their own.
export default {
  "zh-CN": {
    notice: "本文为通用模板，运营方应根据自身业务和适用法律替换为正式文本。",
    terms: {
      title: "服务条款",
      sections: [
        { heading: "1. 服务内容", body: "我们向您提供云服务器及相关托管服务。具体配置、价格和计费周期以下单时页面所示为准。" },
        { heading: "2. 账户", body: "您应提供真实、准确的注册信息，并妥善保管账户密码和 API 密钥。通过您账户进行的操作均视为您本人的行为。" },
        { heading: "3. 付款与续费", body: "服务在付款成功后开通。到期前请及时续费，逾期未付的服务可能被暂停，宽限期后可能被终止且数据不可恢复。" },
        { heading: "4. 可接受的使用", body: "不得利用服务从事违法活动，包括但不限于发送垃圾邮件、网络攻击、传播恶意软件或侵犯他人权利的内容。违反者我们有权暂停或终止服务。" },
        { heading: "5. 退款", body: "退款按运营方公布的退款政策处理；已使用的服务时长和第三方费用通常不予退还。" },
        { heading: "6. 责任限制", body: "我们会尽力保障服务可用，但不对因不可抗力、上游供应商故障或您自身操作造成的损失承担责任。请自行做好数据备份。" },
        { heading: "7. 条款变更", body: "我们可能不时更新本条款，更新后将在本页面公布。继续使用服务即表示您接受更新后的条款。" },
      ],
    },
    privacy: {
      title: "隐私政策",
      sections: [
        { heading: "1. 我们收集的信息", body: "注册和使用服务时，我们会收集您的用户名、邮箱、显示名称、订单和付款记录，以及访问日志（如 IP 地址）。" },
        { heading: "2. 信息的用途", body: "这些信息用于提供和计费服务、发送通知和验证码、处理工单、防范欺诈以及履行法律义务。" },
        { heading: "3. 信息共享", body: "我们仅在提供服务所必需时与上游服务器供应商和支付机构共享必要信息，或依法律要求提供，不会出售您的个人信息。" },
        { heading: "4. 数据安全与保存", body: "我们采取合理的技术和管理措施保护您的数据，密码以不可逆方式加密存储。账户注销后，我们将在法律要求的期限届满后删除相关数据。" },
        { heading: "5. 您的权利", body: "您可以在控制台查看和修改个人资料，也可以通过工单申请导出或删除您的个人信息。" },
        { heading: "6. Cookie 与本地存储", body: "我们使用浏览器本地存储保存登录状态、语言和主题偏好，不用于广告追踪。" },
        { heading: "7. 联系我们", body: "如对本政策有任何疑问，请通过控制台提交工单与我们联系。" },
      ],
    },
  },
  en: {
    notice: "This is a generic template; the operator should replace it with text that fits its business and the applicable law.",
    terms: {
      title: "Terms of service",
      sections: [
        { heading: "1. The service", body: "We provide cloud servers and related hosting services. The configuration, price and billing cycle are those shown when you order." },
        { heading: "2. Your account", body: "Give true and accurate registration details and keep your password and API keys safe. Whatever is done through your account counts as done by you." },
        { heading: "3. Payment and renewal", body: "A service starts once it is paid. Renew it before it expires: an unpaid service may be suspended, and after a grace period terminated with its data lost." },
        { heading: "4. Acceptable use", body: "Do not use the service for anything unlawful, including spam, network attacks, malware or content that infringes the rights of others. We may suspend or terminate services that do." },
        { heading: "5. Refunds", body: "Refunds follow the operator's published refund policy; time already used and third-party fees are usually not refunded." },
        { heading: "6. Limitation of liability", body: "We do our best to keep the service available but are not liable for losses caused by force majeure, upstream provider failures or your own actions. Keep your own backups." },
        { heading: "7. Changes", body: "We may update these terms from time to time and will publish the new version on this page. Using the service afterwards means you accept it." },
      ],
    },
    privacy: {
      title: "Privacy policy",
      sections: [
        { heading: "1. What we collect", body: "When you register and use the service we collect your username, e-mail address, display name, orders and payments, and access logs such as IP addresses." },
        { heading: "2. How we use it", body: "To provide and bill the service, send notifications and verification codes, handle tickets, prevent fraud and meet legal obligations." },
        { heading: "3. Sharing", body: "We share only what is needed with upstream server providers and payment processors to deliver the service, or when the law requires it. We do not sell personal data." },
        { heading: "4. Security and retention", body: "We protect your data with reasonable technical and organisational measures; passwords are stored as one-way hashes. After an account is closed its data is deleted once legal retention periods end." },
        { heading: "5. Your rights", body: "You can view and change your profile in the dashboard, and ask for an export or deletion of your personal data by opening a ticket." },
        { heading: "6. Cookies and local storage", body: "The browser's local storage keeps your session, language and theme preferences; nothing is used for advertising tracking." },
        { heading: "7. Contact", body: "Questions about this policy? Open a ticket from the dashboard." },
      ],
    },
  },
};
