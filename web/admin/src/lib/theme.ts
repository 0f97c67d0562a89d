import { themeStore } from "@rustbill/ui/theme";

export type { Theme } from "@rustbill/ui/theme";

const store = themeStore("rustbill.admin.theme");
export const currentTheme = store.current;
export const applyTheme = store.apply;
