// Light and dark themes: the `dark` class on <html>, remembered per browser,
// following the system until the user picks one.
export type Theme = "light" | "dark";

const KEY = "rustbill.admin.theme";

export function currentTheme(): Theme {
  const stored = localStorage.getItem(KEY);
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme: Theme, remember = false) {
  document.documentElement.classList.toggle("dark", theme === "dark");
  if (remember) localStorage.setItem(KEY, theme);
}
