import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Input, Label } from "@rustbill/ui/input";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import type { OrderInfo } from "@/gen/rustbill/order/order_pb";
import { api } from "@/lib/api";
import { FilterSelect, Pager, QueryBody, StatusBadge, shortId, useListParams, RowList } from "./parts";

export const ORDER_STATUSES = [
  "pending", "paid", "provisioning", "active", "suspended", "cancelled", "refunded", "completed", "terminated",
] as const;

export default function OrderList() {
  const { t } = useTranslation("orders");
  const list = useListParams(["status", "search"] as const);
  const [search, setSearch] = React.useState(list.filters.search);
  const orders = useQuery({
    queryKey: ["orders", "list", list.page, list.filters],
    queryFn: () =>
      api.orders.listOrders({
        pagination: list.pagination,
        status: list.filters.status || undefined,
        search: list.filters.search || undefined,
      }),
    placeholderData: keepPreviousData,
  });

  return (
    <div className="grid gap-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("title")}</h1>
        <Button asChild>
          <Link to="/catalog">{t("newOrder")}</Link>
        </Button>
      </div>
      <div className="flex flex-wrap items-end gap-3">
        <FilterSelect
          id="orders-status"
          label={t("filter.status")}
          allLabel={t("filter.all")}
          value={list.filters.status}
          values={ORDER_STATUSES}
          optionLabel={(status) => t(`orderStatus.${status}`)}
          onChange={(status) => list.setFilter("status", status)}
        />
        <form
          className="flex items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            list.setFilter("search", search.trim());
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor="orders-search">{t("filter.search")}</Label>
            <Input id="orders-search" className="w-56" value={search} maxLength={100} onChange={(event) => setSearch(event.target.value)} />
          </div>
          <Button type="submit" variant="outline">
            {t("filter.apply")}
          </Button>
        </form>
      </div>
      <QueryBody query={orders} isEmpty={(data) => data.orders.length === 0} empty={t("empty")}>
        {(data) => (
        <>
          <OrderRows orders={data.orders} />
          <Pager meta={data.meta} onPage={list.setPage} />
        </>
        )}
      </QueryBody>
    </div>
  );
}

/** Orders as rows on a wide screen and as stacked cards on a phone. */
export function OrderRows({ orders }: { orders: OrderInfo[] }) {
  const { t, i18n } = useTranslation("orders");
  return (
    <RowList
      columns="md:grid-cols-[7rem_1fr_8rem_8rem_7rem_10rem]"
      header={
        <>
        <span>{t("field.number")}</span>
        <span>{t("field.product")}</span>
        <span>{t("field.amount")}</span>
        <span>{t("field.billingCycle")}</span>
        <span>{t("field.status")}</span>
        <span>{t("field.createdAt")}</span>
        </>
      }
    >
      {orders.map((order) => (
        <li key={order.id} data-row-key={order.id} className="rounded-lg border bg-card md:rounded-none md:border-0 md:border-t md:bg-transparent">
          <Link
            to={`/dashboard/orders/${order.id}`}
            className="grid grid-cols-2 gap-x-3 gap-y-1 p-3 text-sm hover:bg-muted/40 md:grid-cols-[7rem_1fr_8rem_8rem_7rem_10rem] md:items-center md:py-2"
          >
            <span className="font-mono text-primary">#{shortId(order.id)}</span>
            <span className="justify-self-end md:hidden">
              <StatusBadge kind="order" status={order.status} />
            </span>
            <span className="col-span-2 font-medium md:col-span-1">{order.productName || t("unnamedProduct")}</span>
            <span>{formatMoney(order.amount, order.currency)}</span>
            <span className="justify-self-end text-muted-foreground md:justify-self-start">
              {t(`cycle.${order.billingCycle}`, { defaultValue: order.billingCycle || "--" })}
            </span>
            <span className="hidden md:block">
              <StatusBadge kind="order" status={order.status} />
            </span>
            <span className="col-span-2 text-xs text-muted-foreground md:col-span-1 md:text-sm">
              {formatDateTime(order.createdAt, i18n.language)}
            </span>
          </Link>
        </li>
      ))}
    </RowList>
  );
}
