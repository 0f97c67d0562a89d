import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { DataTable, type Column } from "@/components/data-table";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Input, Select } from "@rustbill/ui/input";
import type { OrderInfo } from "@/gen/rustbill/order/order_pb";
import { api, fieldErrors } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { CustomerLink, Mono, ProviderOptions, shortId } from "./shared";
import { ORDER_STATUSES } from "./status";

const FILTERS = ["search", "status", "customer_id", "provider"] as const;

export function OrderList() {
  const { t, i18n } = useTranslation("orders");
  const { t: tc } = useTranslation();
  const list = useListState(FILTERS);
  const { filters } = list;
  const orders = useQuery({
    queryKey: ["orders", "list", list.page, list.pageSize, filters],
    queryFn: () =>
      api.orders.listOrders({
        pagination: list.pageRequest,
        search: filters.search || undefined,
        status: filters.status || undefined,
        customerId: filters.customer_id || undefined,
        providerInterfaceId: filters.provider || undefined,
      }),
    placeholderData: keepPreviousData,
  });
  const errors = orders.error ? fieldErrors(orders.error) : {};

  // The text filters apply on submit; the selects at once.
  const [search, setSearch] = React.useState(filters.search);
  const [customerId, setCustomerId] = React.useState(filters.customer_id);
  React.useEffect(() => {
    setSearch(filters.search);
    setCustomerId(filters.customer_id);
  }, [filters.search, filters.customer_id]);

  const columns: Column<OrderInfo>[] = [
    {
      key: "id",
      header: t("columns.id"),
      cell: (order) => (
        <Link to={`/orders/${order.id}`} className="text-primary hover:underline" title={order.id}>
          <Mono>{shortId(order.id)}</Mono>
        </Link>
      ),
    },
    { key: "customer", header: t("columns.customer"), cell: (order) => <CustomerLink id={order.customerId} /> },
    { key: "product", header: t("columns.product"), cell: (order) => order.productName },
    {
      key: "cycle",
      header: t("columns.cycle"),
      cell: (order) => t(`cycles.${order.billingCycle}`, { defaultValue: order.billingCycle }),
    },
    {
      key: "amount",
      header: t("columns.amount"),
      className: "text-right whitespace-nowrap",
      cell: (order) => formatMoney(order.amount, order.currency),
    },
    { key: "status", header: t("columns.status"), cell: (order) => <StatusBadge status={order.status} /> },
    {
      key: "created",
      header: t("columns.created"),
      className: "whitespace-nowrap",
      cell: (order) => formatDateTime(order.createdAt, i18n.language),
    },
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} />
      <form
        className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[2fr_1fr_1fr_1fr_auto] lg:items-end"
        onSubmit={(event) => {
          event.preventDefault();
          list.setFilters({ search: search.trim(), customer_id: customerId.trim() });
        }}
      >
        <Field label={t("filters.search")} htmlFor="orders-search" error={errors.search}>
          <Input
            id="orders-search"
            type="search"
            value={search}
            placeholder={t("filters.searchPlaceholder")}
            onChange={(event) => setSearch(event.target.value)}
          />
        </Field>
        <Field label={t("filters.status")} htmlFor="orders-status" error={errors.status}>
          <Select id="orders-status" value={filters.status} onChange={(event) => list.setFilter("status", event.target.value)}>
            <option value="">{tc("all")}</option>
            {ORDER_STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(`statuses.${status}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t("filters.customerId")} htmlFor="orders-customer" error={errors.customer_id}>
          <Input id="orders-customer" value={customerId} onChange={(event) => setCustomerId(event.target.value)} />
        </Field>
        <Field label={t("filters.provider")} htmlFor="orders-provider" error={errors.provider_interface_id}>
          <Select
            id="orders-provider"
            value={filters.provider}
            onChange={(event) => list.setFilter("provider", event.target.value)}
          >
            <option value="">{tc("all")}</option>
            <ProviderOptions selected={filters.provider} />
          </Select>
        </Field>
        <div className="flex gap-2">
          <Button type="submit">{tc("action.search")}</Button>
          <Button
            variant="outline"
            onClick={() => list.setFilters({ search: "", status: "", customer_id: "", provider: "" })}
          >
            {tc("action.reset")}
          </Button>
        </div>
      </form>
      {filters.customer_id && !errors.customer_id ? (
        <p className="mb-3 flex gap-1 text-sm text-muted-foreground">
          {t("filters.onlyCustomer")}
          <CustomerLink id={filters.customer_id} />
        </p>
      ) : null}
      <DataTable
        columns={columns}
        rows={orders.data?.orders}
        rowKey={(order) => order.id}
        meta={orders.data?.meta}
        loading={orders.isPending}
        error={orders.error}
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
      />
    </div>
  );
}
