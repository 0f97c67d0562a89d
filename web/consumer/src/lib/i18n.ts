// Simplified Chinese by default, and English. Each file in src/locales/ is a
// namespace named after the file, exporting `{ "zh-CN": {...}, en: {...} }`.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

type Bundle = Record<Language, Record<string, unknown>>;
const modules = import.meta.glob<{ default: Bundle }>("../locales/*.ts", { eager: true });
const resources: Record<string, Record<string, Record<string, unknown>>> = { "zh-CN": {}, en: {} };
for (const [path, module] of Object.entries(modules)) {
  const namespace = path.replace(/^.*\/(.*)\.ts$/, "$1");
  for (const language of LANGUAGES) resources[language][namespace] = module.default[language];
}

const KEY = "rustbill.portal.language";
const stored = localStorage.getItem(KEY);
const initial: Language = stored === "en" ? "en" : "zh-CN";

void i18n.use(initReactI18next).init({
  resources,
  lng: initial,
  fallbackLng: "zh-CN",
  defaultNS: "common",
  interpolation: { escapeValue: false },
});
document.documentElement.lang = initial;

export function setLanguage(language: Language) {
  localStorage.setItem(KEY, language);
  document.documentElement.lang = language;
  void i18n.changeLanguage(language);
}

export default i18n;
