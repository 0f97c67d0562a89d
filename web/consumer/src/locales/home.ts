// The public home page.
export default {
  "zh-CN": {
    tagline: "稳定、快速的云服务器，分钟级开通，按月灵活付费。",
    browse: "浏览产品",
    getStarted: "免费注册",
    toDashboard: "进入控制台",
    featured: "热门产品",
    allProducts: "查看全部产品",
    empty: "暂无可购买的产品。",
    features: {
      instant: { title: "即时开通", text: "付款后自动部署，几分钟内即可使用。" },
      flexible: { title: "灵活计费", text: "月付、季付、年付任选，余额或在线支付。" },
      support: { title: "工单支持", text: "遇到问题随时提交工单，专人跟进处理。" },
    },
  },
  en: {
    tagline: "Reliable, fast cloud servers, ready in minutes, billed flexibly.",
    browse: "Browse products",
    getStarted: "Sign up free",
    toDashboard: "Go to the dashboard",
    featured: "Featured products",
    allProducts: "See all products",
    empty: "No products are available yet.",
    features: {
      instant: { title: "Instant setup", text: "Deployed automatically once paid, ready within minutes." },
      flexible: { title: "Flexible billing", text: "Monthly, quarterly or yearly; pay from your balance or online." },
      support: { title: "Ticket support", text: "Open a ticket whenever you need help; a person follows it up." },
    },
  },
};
