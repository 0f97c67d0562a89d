import * as React from "react";
import { NavLink, Outlet } from "react-router";
import { useTranslation } from "react-i18next";
import {
  Activity, Boxes, CreditCard, FileText, KeyRound, LayoutDashboard, LifeBuoy, LogOut, Moon, Bell, Package,
  Plug, ScrollText, Server, ShoppingCart, Sun, TicketPercent, UserCog, Users,
} from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Select } from "@rustbill/ui/input";
import { useLogout, useMe } from "@/lib/auth";
import { LANGUAGES, setLanguage, type Language } from "@/lib/i18n";
import { applyTheme, currentTheme, type Theme } from "@/lib/theme";
import { cn } from "@rustbill/ui/utils";

const NAV: { group: string; items: { to: string; key: string; icon: React.ComponentType<{ className?: string }> }[] }[] = [
  { group: "", items: [{ to: "/", key: "dashboard", icon: LayoutDashboard }] },
  { group: "catalog", items: [{ to: "/products", key: "products", icon: Package }] },
  {
    group: "customersGroup",
    items: [
      { to: "/customers", key: "customers", icon: Users },
      { to: "/users", key: "users", icon: UserCog },
    ],
  },
  {
    group: "sales",
    items: [
      { to: "/orders", key: "orders", icon: ShoppingCart },
      { to: "/instances", key: "instances", icon: Server },
      { to: "/payments", key: "payments", icon: CreditCard },
      { to: "/invoices", key: "invoices", icon: FileText },
      { to: "/coupons", key: "coupons", icon: TicketPercent },
    ],
  },
  {
    group: "support",
    items: [
      { to: "/tickets", key: "tickets", icon: LifeBuoy },
      { to: "/notifications", key: "notifications", icon: Bell },
    ],
  },
  { group: "infrastructure", items: [{ to: "/plugins", key: "plugins", icon: Plug }] },
  {
    group: "system",
    items: [
      { to: "/logs", key: "logs", icon: ScrollText },
      { to: "/account", key: "account", icon: KeyRound },
    ],
  },
];

export function Layout() {
  const { t, i18n } = useTranslation();
  const me = useMe();
  const logout = useLogout();
  const [theme, setTheme] = React.useState<Theme>(currentTheme());
  return (
    <div className="flex min-h-screen">
      <aside className="sticky top-0 hidden h-screen w-56 shrink-0 overflow-y-auto border-r bg-sidebar md:block">
        <div className="flex h-14 items-center gap-2 border-b px-4 font-semibold">
          <Boxes className="size-5 text-primary" />
          RustBill
        </div>
        <nav className="grid gap-4 p-3 text-sm" aria-label="main">
          {NAV.map((section) => (
            <div key={section.group || "home"} className="grid gap-0.5">
              {section.group ? (
                <div className="px-2 pb-1 text-xs font-medium uppercase tracking-wide text-muted-foreground">
                  {t(`nav.${section.group}`)}
                </div>
              ) : null}
              {section.items.map((item) => (
                <NavLink
                  key={item.to}
                  to={item.to}
                  end={item.to === "/"}
                  className={({ isActive }) =>
                    cn(
                      "flex items-center gap-2 rounded-md px-2 py-1.5 hover:bg-muted",
                      isActive && "bg-muted font-medium text-primary",
                    )
                  }
                >
                  <item.icon className="size-4" />
                  {t(`nav.${item.key}`)}
                </NavLink>
              ))}
            </div>
          ))}
        </nav>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-10 flex h-14 items-center justify-end gap-2 border-b bg-background/95 px-4 backdrop-blur">
          <Activity className="mr-auto size-4 text-muted-foreground md:hidden" />
          <Select
            aria-label={t("language")}
            className="h-8 w-32"
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
          <span className="text-sm text-muted-foreground" data-testid="me">
            {me.displayName || me.username} · {me.role}
          </span>
          <Button variant="ghost" size="sm" onClick={() => void logout()}>
            <LogOut />
            {t("action.logout")}
          </Button>
        </header>
        <main className="min-w-0 flex-1 p-4 md:p-6">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
