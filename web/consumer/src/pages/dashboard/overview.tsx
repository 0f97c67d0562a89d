// The dashboard's first page: balance, counts of orders, running instances
// and open tickets, the latest orders and quick links.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { formatMoney } from "@rustbill/ui/utils";
import { api, errorMessage } from "@/lib/api";
import { useCurrentUser } from "@/lib/auth";
import { OrderRows } from "@/pages/dashboard/orders/list";
import { Empty, QueryError } from "@/pages/dashboard/orders/parts";

const RECENT = 5;
/** A page of one: only `meta.total` is read. */
const COUNT_ONLY = { page: 1, pageSize: 1 };

export default function OverviewPage() {
  const { t } = useTranslation("overview");
  const me = useCurrentUser();
  const balance = useQuery({ queryKey: ["balance", "own"], queryFn: () => api.balance.getBalance({}) });
  const orders = useQuery({
    queryKey: ["orders", "recent"],
    queryFn: () => api.orders.listOrders({ pagination: { page: 1, pageSize: RECENT } }),
  });
  const pending = useQuery({
    queryKey: ["orders", "count", "pending"],
    queryFn: () => api.orders.listOrders({ pagination: COUNT_ONLY, status: "pending" }),
  });
  const running = useQuery({
    queryKey: ["instances", "count", "running"],
    queryFn: () => api.instances.listInstances({ pagination: COUNT_ONLY, status: "running" }),
  });
  const tickets = useQuery({
    queryKey: ["tickets", "count", "open"],
    queryFn: async () => {
      const [waiting, processing] = await Promise.all(
        ["pending", "processing"].map((status) => api.tickets.listTickets({ pagination: COUNT_ONLY, status })),
      );
      return (waiting.meta?.total ?? 0n) + (processing.meta?.total ?? 0n);
    },
  });

  const name = me.data?.displayName || me.data?.username || "";
  return (
    <div className="grid gap-6">
      <div>
        <h1 className="text-2xl font-semibold">{t("welcome", { name })}</h1>
        <p className="text-sm text-muted-foreground">{t("subtitle")}</p>
      </div>

      <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-4">
        <Stat
          title={t("balance")}
          query={balance}
          value={(data) => formatMoney(data.balance)}
          hint={(data) => (data.creditLimit && Number(data.creditLimit) !== 0 ? t("creditLimit", { amount: data.creditLimit }) : "")}
          to="/dashboard/balance"
          linkLabel={t("recharge")}
        />
        <Stat
          title={t("orders")}
          query={orders}
          value={(data) => (data.meta?.total ?? 0n).toString()}
          hint={() => (pending.data ? t("pendingOrders", { count: Number(pending.data.meta?.total ?? 0n) }) : "")}
          to="/dashboard/orders"
          linkLabel={t("viewOrders")}
        />
        <Stat
          title={t("runningInstances")}
          query={running}
          value={(data) => (data.meta?.total ?? 0n).toString()}
          to="/dashboard/instances"
          linkLabel={t("viewInstances")}
        />
        <Stat
          title={t("openTickets")}
          query={tickets}
          value={(total) => total.toString()}
          to="/dashboard/tickets"
          linkLabel={t("viewTickets")}
        />
      </div>

      <section className="grid gap-2">
        <div className="flex items-center justify-between gap-2">
          <h2 className="text-lg font-semibold">{t("recentOrders")}</h2>
          <Link to="/dashboard/orders" className="text-sm text-primary hover:underline">
            {t("allOrders")}
          </Link>
        </div>
        {orders.isError ? (
          <QueryError error={orders.error} onRetry={() => void orders.refetch()} />
        ) : orders.isPending ? (
          <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
        ) : orders.data.orders.length === 0 ? (
          <Empty>{t("noOrders")}</Empty>
        ) : (
          <OrderRows orders={orders.data.orders.slice(0, RECENT)} />
        )}
      </section>

      <section className="grid gap-2">
        <h2 className="text-lg font-semibold">{t("quickLinks")}</h2>
        <div className="flex flex-wrap gap-2">
          <Button asChild>
            <Link to="/catalog">{t("links.order")}</Link>
          </Button>
          <Button asChild variant="outline">
            <Link to="/dashboard/balance">{t("links.recharge")}</Link>
          </Button>
          <Button asChild variant="outline">
            <Link to="/dashboard/invoices">{t("links.invoices")}</Link>
          </Button>
          <Button asChild variant="outline">
            <Link to="/dashboard/tickets">{t("links.support")}</Link>
          </Button>
        </div>
      </section>
    </div>
  );
}

interface StatQuery<T> {
  data: T | undefined;
  error: unknown;
  isError: boolean;
}

function Stat<T>({
  title,
  query,
  value,
  hint,
  to,
  linkLabel,
}: {
  title: string;
  query: StatQuery<T>;
  value: (data: T) => string;
  hint?: (data: T) => string;
  to: string;
  linkLabel: string;
}) {
  const { t } = useTranslation();
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-sm font-medium text-muted-foreground">{title}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-1">
        {query.isError ? (
          <p className="text-sm text-destructive" role="alert" title={errorMessage(query.error)}>
            {t("loadFailed")}
          </p>
        ) : (
          <p className="text-2xl font-semibold">
            {query.data === undefined ? "…" : value(query.data)}
          </p>
        )}
        {query.data !== undefined && hint ? <p className="text-xs text-muted-foreground">{hint(query.data)}</p> : null}
        <Link to={to} className="text-sm text-primary hover:underline">
          {linkLabel}
        </Link>
      </CardContent>
    </Card>
  );
}
