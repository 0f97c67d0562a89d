// zh-CN and en. Every file in src/locales/ is one namespace named after the
// file (`orders.ts` → useTranslation("orders")) and exports
// `{ "zh-CN": {...}, en: {...} }` with the same keys in both.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

type Bundle = Record<Language, Record<string, unknown>>;
const modules = import.meta.glob<{ default: Bundle }>("../locales/*.ts", { eager: true });

const resources: Record<string, Record<string, Record<string, unknown>>> = { "zh-CN": {}, en: {} };
for (const [path, module] of Object.entries(modules)) {
  const namespace = path.replace(/^.*\/(.*)\.ts$/, "$1");
  for (const language of LANGUAGES) {
    resources[language][namespace] = module.default[language];
  }
}

const stored = localStorage.getItem("rustbill.admin.language");
const initial: Language =
  stored === "en" || stored === "zh-CN" ? stored : navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";

void i18n.use(initReactI18next).init({
  resources,
  lng: initial,
  fallbackLng: "en",
  defaultNS: "common",
  interpolation: { escapeValue: false },
});
document.documentElement.lang = initial;

export function setLanguage(language: Language) {
  localStorage.setItem("rustbill.admin.language", language);
  document.documentElement.lang = language;
  void i18n.changeLanguage(language);
}

export default i18n;
