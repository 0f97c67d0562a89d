import * as React from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import {
  FileText, KeyRound, LayoutDashboard, LifeBuoy, LogOut, Moon, Server, Settings, ShoppingCart, Sun, Wallet, Circle,
} from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Select } from "@rustbill/ui/input";
import { cn } from "@rustbill/ui/utils";
import { brand, navLabel, portalConfig } from "@/lib/config";
import { useCurrentUser, useLogout } from "@/lib/auth";
import { LANGUAGES, setLanguage, type Language } from "@/lib/i18n";
import { applyTheme, currentTheme, type Theme } from "@/lib/theme";

const ICONS: Record<string, React.ComponentType<{ className?: string }>> = {
  "layout-dashboard": LayoutDashboard,
  "shopping-cart": ShoppingCart,
  server: Server,
  "file-text": FileText,
  wallet: Wallet,
  "life-buoy": LifeBuoy,
  "key-round": KeyRound,
  settings: Settings,
};

function Brand() {
  const title = portalConfig().appTitle || brand.name;
  return (
    <Link to="/" className="flex items-center gap-2 font-semibold">
      {brand.logo ? <img src={brand.logo} alt="" className="h-7 w-auto" /> : null}
      <span>{title}</span>
    </Link>
  );
}

function Preferences() {
  const { t, i18n } = useTranslation();
  const [theme, setTheme] = React.useState<Theme>(currentTheme());
  return (
    <>
      <Select
        aria-label={t("language")}
        className="h-8 w-28"
        value={i18n.language}
        onChange={(event) => setLanguage(event.target.value as Language)}
      >
        {LANGUAGES.map((language) => (
          <option key={language} value={language}>
            {language === "zh-CN" ? "简体中文" : "English"}
          </option>
        ))}
      </Select>
      <Button
        variant="ghost"
        size="icon"
        aria-label={t("theme.toggle")}
        onClick={() => {
          const next = theme === "dark" ? "light" : "dark";
          applyTheme(next, true);
          setTheme(next);
        }}
      >
        {theme === "dark" ? <Sun /> : <Moon />}
      </Button>
    </>
  );
}

/** Public pages: brand header with the brand's navigation, footer with the legal pages. */
export function PublicLayout() {
  const { t, i18n } = useTranslation();
  const me = useCurrentUser();
  return (
    <div className="flex min-h-screen flex-col">
      <header className="sticky top-0 z-10 border-b bg-background/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-4 px-4">
          <Brand />
          <nav className="hidden items-center gap-4 text-sm sm:flex" aria-label="main">
            {brand.header.map((item) => (
              <NavLink key={item.to} to={item.to} end className={({ isActive }) => cn("hover:text-primary", isActive && "text-primary")}>
                {navLabel(item, i18n.language)}
              </NavLink>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-2">
            <Preferences />
            {me.data ? (
              <Button asChild size="sm">
                <Link to="/dashboard">{t("nav.dashboard")}</Link>
              </Button>
            ) : (
              <>
                <Button asChild variant="ghost" size="sm">
                  <Link to="/login">{t("nav.login")}</Link>
                </Button>
                <Button asChild size="sm">
                  <Link to="/register">{t("nav.register")}</Link>
                </Button>
              </>
            )}
          </div>
        </div>
      </header>
      <main className="mx-auto w-full max-w-6xl flex-1 px-4 py-6">
        <Outlet />
      </main>
      <footer className="border-t py-6 text-center text-sm text-muted-foreground">
        <div className="flex justify-center gap-4">
          <Link to="/terms" className="hover:text-primary">
            {t("nav.terms")}
          </Link>
          <Link to="/privacy" className="hover:text-primary">
            {t("nav.privacy")}
          </Link>
        </div>
      </footer>
    </div>
  );
}

/** The customer dashboard: the brand's sidebar (a bar of links on a phone). */
export function DashboardLayout() {
  const { t, i18n } = useTranslation();
  const me = useCurrentUser();
  const logout = useLogout();
  const navigate = useNavigate();
  const links = brand.sidebar.map((item) => {
    const Icon = (item.icon && ICONS[item.icon]) || Circle;
    return (
      <NavLink
        key={item.to}
        to={item.to}
        end={item.to === "/dashboard"}
        className={({ isActive }) =>
          cn("flex shrink-0 items-center gap-2 rounded-md px-2 py-1.5 text-sm hover:bg-muted", isActive && "bg-muted font-medium text-primary")
        }
      >
        <Icon className="size-4" />
        {navLabel(item, i18n.language)}
      </NavLink>
    );
  });
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <aside className="border-b bg-sidebar md:sticky md:top-0 md:h-screen md:w-56 md:shrink-0 md:border-b-0 md:border-r">
        <div className="flex h-14 items-center px-4">
          <Brand />
        </div>
        <nav className="flex gap-1 overflow-x-auto px-3 pb-2 md:grid md:overflow-visible" aria-label="dashboard">
          {links}
        </nav>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 items-center justify-end gap-2 border-b px-4">
          <Preferences />
          <span className="hidden text-sm text-muted-foreground sm:inline" data-testid="me">
            {me.data?.displayName || me.data?.username}
          </span>
          <Button
            variant="ghost"
            size="sm"
            onClick={() => void logout().then(() => navigate("/", { replace: true }))}
          >
            <LogOut />
            {t("nav.logout")}
          </Button>
        </header>
        <main className="min-w-0 flex-1 p-4 md:p-6">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
