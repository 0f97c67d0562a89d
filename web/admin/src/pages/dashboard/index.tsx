// The dashboard (the app's index route): counters, daily charts, plugin
// health, running service instances and leader roles.
import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import {
  AlertTriangle, Boxes, FileText, Inbox, LifeBuoy, Package, Plug, RefreshCw, Server, ShoppingCart, Users, Wallet,
} from "lucide-react";
import type { Counter } from "@/gen/rustbill/system/system_pb";
import { Loading, PageHeader, QueryError } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Card } from "@rustbill/ui/card";
import { Label, Select } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { cn, formatMoney } from "@rustbill/ui/utils";
import { OrdersChart, RevenueChart } from "./charts";
import { LeaderRoles, PluginHealth, ServiceInstances } from "./tables";

const WINDOWS = [7, 30, 90] as const;

type Line = { label: string; value: string; warn?: boolean };

function StatCard({
  icon: Icon,
  title,
  value,
  lines = [],
  note,
  to,
  warn = false,
}: {
  icon: React.ComponentType<{ className?: string }>;
  title: string;
  value: string;
  lines?: Line[];
  note?: string;
  to?: string;
  warn?: boolean;
}) {
  const { t } = useTranslation("dashboard");
  const titleId = React.useId();
  // The card is not one big link: its name would repeat the navigation's
  // words ("Customers", "Orders" ...); a small "Open list" link is named apart.
  return (
    <Card className={cn("flex h-full flex-col p-4", warn && "border-destructive/50")}>
      <div className="flex items-center justify-between gap-2 text-sm text-muted-foreground">
        <span id={titleId}>{title}</span>
        <Icon className={cn("size-4", warn ? "text-destructive" : "text-primary")} />
      </div>
      <div className={cn("mt-2 text-2xl font-semibold tabular-nums", warn && "text-destructive")}>{value}</div>
      {lines.map((line) => (
        <div key={line.label} className={cn("mt-1 text-xs text-muted-foreground", line.warn && "text-destructive")}>
          {line.label}: <span className="tabular-nums">{line.value}</span>
        </div>
      ))}
      {note ? <p className="mt-1 text-xs text-muted-foreground">{note}</p> : null}
      {to ? (
        <Link to={to} aria-describedby={titleId} className="mt-auto self-start pt-2 text-xs text-primary hover:underline">
          {t("openList")}
        </Link>
      ) : null}
    </Card>
  );
}

export default function Dashboard() {
  const { t } = useTranslation("dashboard");
  const [params, setParams] = useSearchParams();
  const requested = Number(params.get("days"));
  const days = (WINDOWS as readonly number[]).includes(requested) ? requested : 30;
  const dashboard = useQuery({
    queryKey: ["dashboard", "summary", days],
    queryFn: () => api.system.getDashboard({ days }),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
    retry: 1,
  });
  const data = dashboard.data;
  const counters = new Map((data?.counters ?? []).map((counter: Counter) => [counter.name, counter.value]));
  const count = (name: string) => counters.get(name) ?? "—";
  const money = (name: string) => {
    const value = counters.get(name);
    return value === undefined ? "—" : formatMoney(value, data?.currency);
  };
  const positive = (name: string) => Number(counters.get(name) ?? 0) > 0;

  return (
    <div className="grid gap-6">
      <PageHeader
        title={t("title")}
        description={t("subtitle")}
        actions={
          <>
            <div className="flex items-center gap-2">
              <Label htmlFor="dashboard-window">{t("window")}</Label>
              <Select
                id="dashboard-window"
                className="w-40"
                value={days}
                onChange={(event) =>
                  setParams((current) => {
                    const next = new URLSearchParams(current);
                    next.set("days", event.target.value);
                    return next;
                  })
                }
              >
                {WINDOWS.map((value) => (
                  <option key={value} value={value}>
                    {t("days", { count: value })}
                  </option>
                ))}
              </Select>
            </div>
            <Button variant="outline" onClick={() => void dashboard.refetch()} disabled={dashboard.isFetching}>
              <RefreshCw className={cn(dashboard.isFetching && "animate-spin")} />
              {t("action.refresh", { ns: "common" })}
            </Button>
          </>
        }
      />

      {dashboard.error ? <QueryError error={dashboard.error} /> : null}
      {data && data.unavailable.length > 0 ? (
        <div
          role="status"
          className="flex items-start gap-2 rounded-md border border-yellow-500/40 bg-yellow-500/10 p-3 text-sm text-yellow-800 dark:text-yellow-300"
        >
          <AlertTriangle className="mt-0.5 size-4 shrink-0" />
          <span>{t("unavailable", { services: data.unavailable.join(", ") })}</span>
        </div>
      ) : null}

      {dashboard.isPending ? (
        <Loading />
      ) : data ? (
        <>
          <section aria-label={t("counters")} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-5">
            <StatCard
              icon={Users}
              title={t("card.customers")}
              value={count("customers_total")}
              lines={[{ label: t("card.active"), value: count("customers_active") }]}
              to="/customers"
            />
            <StatCard
              icon={ShoppingCart}
              title={t("card.activeOrders")}
              value={count("orders_active")}
              lines={[
                { label: t("card.pendingPayment"), value: count("orders_pending_payment") },
                { label: t("card.provisioning"), value: count("orders_provisioning") },
                { label: t("card.allOrders"), value: count("orders_total") },
              ]}
              to="/orders?status=active"
            />
            <StatCard
              icon={Server}
              title={t("card.runningInstances")}
              value={count("instances_running")}
              lines={[{ label: t("card.suspended"), value: count("instances_suspended"), warn: positive("instances_suspended") }]}
              to="/instances?status=running"
            />
            <StatCard
              icon={FileText}
              title={t("card.unpaidInvoices")}
              value={count("invoices_unpaid")}
              lines={[{ label: t("card.amount"), value: money("invoices_unpaid_amount") }]}
              to="/invoices"
            />
            <StatCard icon={LifeBuoy} title={t("card.openTickets")} value={count("tickets_open")} to="/tickets" />
            <StatCard icon={Wallet} title={t("card.balanceTotal")} value={money("balance_total")} to="/customers" />
            <StatCard
              icon={Package}
              title={t("card.products")}
              value={count("products_active")}
              lines={[{ label: t("card.allProducts"), value: count("products_total") }]}
              to="/products"
            />
            <StatCard
              icon={Plug}
              title={t("card.plugins")}
              value={count("plugin_interfaces_enabled")}
              lines={[
                { label: t("card.unhealthy"), value: count("plugin_interfaces_unhealthy"), warn: positive("plugin_interfaces_unhealthy") },
              ]}
              warn={positive("plugin_interfaces_unhealthy")}
              to="/plugins"
            />
            <StatCard
              icon={Inbox}
              title={t("card.parkedDeliveries")}
              value={count("deliveries_parked")}
              note={t("card.parkedHint")}
              warn={positive("deliveries_parked")}
            />
            <StatCard
              icon={Boxes}
              title={t("card.parkedEvents")}
              value={count("events_parked")}
              note={t("card.parkedEventsHint")}
              warn={positive("events_parked")}
            />
          </section>

          <section aria-label={t("charts")} className="grid gap-4 xl:grid-cols-2">
            <RevenueChart series={data.series} currency={data.currency} days={days} />
            <OrdersChart series={data.series} days={days} />
          </section>
        </>
      ) : null}

      <PluginHealth />

      {data ? (
        <section className="grid gap-4 xl:grid-cols-2">
          <ServiceInstances instances={data.instances} />
          <LeaderRoles roles={data.leaderRoles} instances={data.instances} />
        </section>
      ) : null}
    </div>
  );
}
