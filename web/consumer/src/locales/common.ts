// Shared words: navigation, actions, preferences.
export default {
  "zh-CN": {
    loading: "加载中…",
    loadFailed: "加载失败",
    notFound: "页面不存在",
    backHome: "返回首页",
    language: "语言",
    theme: { toggle: "切换主题" },
    nav: {
      dashboard: "控制台",
      login: "登录",
      register: "注册",
      logout: "退出登录",
      terms: "服务条款",
      privacy: "隐私政策",
    },
    action: { save: "保存", cancel: "取消", confirm: "确认", back: "返回", refresh: "刷新" },
  },
  en: {
    loading: "Loading…",
    loadFailed: "Could not load",
    notFound: "Page not found",
    backHome: "Back to the home page",
    language: "Language",
    theme: { toggle: "Toggle theme" },
    nav: {
      dashboard: "Dashboard",
      login: "Sign in",
      register: "Sign up",
      logout: "Log out",
      terms: "Terms of service",
      privacy: "Privacy policy",
    },
    action: { save: "Save", cancel: "Cancel", confirm: "Confirm", back: "Back", refresh: "Refresh" },
  },
};
