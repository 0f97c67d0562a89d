import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { DataTable, type Column } from "@/components/data-table";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Input, Select } from "@rustbill/ui/input";
import type { InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import { api, fieldErrors } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { CustomerLink, Mono, ProviderName, ProviderOptions, shortId } from "@/pages/orders/shared";

/** Instance statuses the list filter accepts (services/orders store.rs). */
const INSTANCE_STATUSES = ["provisioning", "running", "stopped", "suspended", "terminated", "error"] as const;

const FILTERS = ["status", "customer_id", "provider"] as const;

export function InstanceList() {
  const { t, i18n } = useTranslation("instances");
  const { t: tc } = useTranslation();
  const list = useListState(FILTERS);
  const { filters } = list;
  const instances = useQuery({
    queryKey: ["instances", "list", list.page, list.pageSize, filters],
    queryFn: () =>
      api.instances.listInstances({
        pagination: list.pageRequest,
        status: filters.status,
        customerId: filters.customer_id,
        providerId: filters.provider,
      }),
    placeholderData: keepPreviousData,
  });
  const errors = instances.error ? fieldErrors(instances.error) : {};

  const [customerId, setCustomerId] = React.useState(filters.customer_id);
  React.useEffect(() => setCustomerId(filters.customer_id), [filters.customer_id]);

  const columns: Column<InstanceInfo>[] = [
    {
      key: "id",
      header: t("columns.id"),
      cell: (instance) => (
        <Link to={`/instances/${instance.id}`} className="text-primary hover:underline" title={instance.id}>
          <Mono>{shortId(instance.id)}</Mono>
        </Link>
      ),
    },
    { key: "product", header: t("columns.product"), cell: (instance) => instance.productName },
    { key: "customer", header: t("columns.customer"), cell: (instance) => <CustomerLink id={instance.customerId} /> },
    { key: "status", header: t("columns.status"), cell: (instance) => <StatusBadge status={instance.status} /> },
    {
      key: "ip",
      header: t("columns.ip"),
      cell: (instance) => (instance.ipAddress ? <Mono>{instance.ipAddress}</Mono> : "—"),
    },
    { key: "provider", header: t("columns.provider"), cell: (instance) => <ProviderName id={instance.providerId} /> },
    {
      key: "order",
      header: t("columns.order"),
      cell: (instance) => (
        <Link to={`/orders/${instance.orderId}`} className="text-primary hover:underline" title={instance.orderId}>
          <Mono>{shortId(instance.orderId)}</Mono>
        </Link>
      ),
    },
    {
      key: "created",
      header: t("columns.created"),
      className: "whitespace-nowrap",
      cell: (instance) => formatDateTime(instance.createdAt, i18n.language),
    },
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} />
      <form
        className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_2fr_1fr_auto] lg:items-end"
        onSubmit={(event) => {
          event.preventDefault();
          list.setFilter("customer_id", customerId.trim());
        }}
      >
        <Field label={t("filters.status")} htmlFor="instances-status" error={errors.status}>
          <Select
            id="instances-status"
            value={filters.status}
            onChange={(event) => list.setFilter("status", event.target.value)}
          >
            <option value="">{tc("all")}</option>
            {INSTANCE_STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(`statuses.${status}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t("filters.customerId")} htmlFor="instances-customer" error={errors.customer_id}>
          <Input id="instances-customer" value={customerId} onChange={(event) => setCustomerId(event.target.value)} />
        </Field>
        <Field label={t("filters.provider")} htmlFor="instances-provider" error={errors.provider_id}>
          <Select
            id="instances-provider"
            value={filters.provider}
            onChange={(event) => list.setFilter("provider", event.target.value)}
          >
            <option value="">{tc("all")}</option>
            <ProviderOptions selected={filters.provider} />
          </Select>
        </Field>
        <div className="flex gap-2">
          <Button type="submit">{tc("action.search")}</Button>
          <Button variant="outline" onClick={() => list.setFilters({ status: "", customer_id: "", provider: "" })}>
            {tc("action.reset")}
          </Button>
        </div>
      </form>
      <DataTable
        columns={columns}
        rows={instances.data?.instances}
        rowKey={(instance) => instance.id}
        meta={instances.data?.meta}
        loading={instances.isPending}
        error={instances.error}
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
      />
    </div>
  );
}
