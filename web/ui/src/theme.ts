// Light and dark themes: the `dark` class on <html>, remembered per browser
// under `key`, following the system until the user picks one.
export type Theme = "light" | "dark";

export function themeStore(key: string) {
  return {
    current(): Theme {
      const stored = localStorage.getItem(key);
      if (stored === "light" || stored === "dark") return stored;
      return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    },
    apply(theme: Theme, remember = false) {
      document.documentElement.classList.toggle("dark", theme === "dark");
      if (remember) localStorage.setItem(key, theme);
    },
  };
}
