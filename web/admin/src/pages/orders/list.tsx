import { useTranslation } from "react-i18next";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterForm, FilterSelect, useDraft } from "@/components/filters";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { CustomerLink, IdLink } from "@/components/refs";
import { Input } from "@rustbill/ui/input";
import type { OrderInfo } from "@/gen/rustbill/order/order_pb";
import { api, fieldErrors } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { formatMoney } from "@rustbill/ui/utils";
import { ProviderFilter } from "./shared";
import { ORDER_STATUSES } from "./status";

const FILTERS = ["search", "status", "customer_id", "provider"] as const;

export function OrderList() {
  const { t } = useTranslation("orders");
  const list = useListState(FILTERS);
  const { filters } = list;
  const orders = useListQuery(["orders"], list, (pagination) =>
    api.orders.listOrders({
      pagination,
      search: filters.search || undefined,
      status: filters.status || undefined,
      customerId: filters.customer_id || undefined,
      providerInterfaceId: filters.provider || undefined,
    }),
  );
  const errors = orders.error ? fieldErrors(orders.error) : {};

  // The text filters apply on submit; the selects at once.
  const [search, setSearch] = useDraft(filters.search);
  const [customerId, setCustomerId] = useDraft(filters.customer_id);

  const columns: Column<OrderInfo>[] = [
    {
      key: "id",
      header: t("columns.id"),
      cell: (order) => <IdLink to={`/orders/${order.id}`} id={order.id} />,
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
    timeColumn("created", t("columns.created"), (order) => order.createdAt),
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} />
      <FilterForm
        className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[2fr_1fr_1fr_1fr_auto] lg:items-end"
        onSearch={() => list.setFilters({ search: search.trim(), customer_id: customerId.trim() })}
        onReset={list.clearFilters}
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
        <FilterSelect
          id="orders-status"
          label={t("filters.status")}
          error={errors.status}
          value={filters.status}
          onChange={(value) => list.setFilter("status", value)}
          options={ORDER_STATUSES.map((status) => [status, t(`statuses.${status}`)])}
        />
        <Field label={t("filters.customerId")} htmlFor="orders-customer" error={errors.customer_id}>
          <Input id="orders-customer" value={customerId} onChange={(event) => setCustomerId(event.target.value)} />
        </Field>
        <ProviderFilter
          id="orders-provider"
          label={t("filters.provider")}
          error={errors.provider_interface_id}
          value={filters.provider}
          onChange={(value) => list.setFilter("provider", value)}
        />
      </FilterForm>
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
        paging={list}
      />
    </div>
  );
}
