import { useTranslation } from "react-i18next";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterForm, FilterSelect, useDraft } from "@/components/filters";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { CustomerLink, IdLink, Mono } from "@/components/refs";
import { Input } from "@rustbill/ui/input";
import type { InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import { api, fieldErrors } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { ProviderFilter, ProviderName } from "@/pages/orders/shared";

/** Instance statuses the list filter accepts (services/orders store.rs). */
const INSTANCE_STATUSES = ["provisioning", "running", "stopped", "suspended", "terminated", "error"] as const;

const FILTERS = ["status", "customer_id", "provider"] as const;

export function InstanceList() {
  const { t } = useTranslation("instances");
  const list = useListState(FILTERS);
  const { filters } = list;
  const instances = useListQuery(["instances"], list, (pagination) =>
    api.instances.listInstances({
      pagination,
      status: filters.status,
      customerId: filters.customer_id,
      providerId: filters.provider,
    }),
  );
  const errors = instances.error ? fieldErrors(instances.error) : {};

  const [customerId, setCustomerId] = useDraft(filters.customer_id);

  const columns: Column<InstanceInfo>[] = [
    {
      key: "id",
      header: t("columns.id"),
      cell: (instance) => <IdLink to={`/instances/${instance.id}`} id={instance.id} />,
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
      cell: (instance) => <IdLink to={`/orders/${instance.orderId}`} id={instance.orderId} />,
    },
    timeColumn("created", t("columns.created"), (instance) => instance.createdAt),
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} />
      <FilterForm
        className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_2fr_1fr_auto] lg:items-end"
        onSearch={() => list.setFilter("customer_id", customerId.trim())}
        onReset={list.clearFilters}
      >
        <FilterSelect
          id="instances-status"
          label={t("filters.status")}
          error={errors.status}
          value={filters.status}
          onChange={(value) => list.setFilter("status", value)}
          options={INSTANCE_STATUSES.map((status) => [status, t(`statuses.${status}`)])}
        />
        <Field label={t("filters.customerId")} htmlFor="instances-customer" error={errors.customer_id}>
          <Input id="instances-customer" value={customerId} onChange={(event) => setCustomerId(event.target.value)} />
        </Field>
        <ProviderFilter
          id="instances-provider"
          label={t("filters.provider")}
          error={errors.provider_id}
          value={filters.provider}
          onChange={(value) => list.setFilter("provider", value)}
        />
      </FilterForm>
      <DataTable
        columns={columns}
        rows={instances.data?.instances}
        rowKey={(instance) => instance.id}
        meta={instances.data?.meta}
        loading={instances.isPending}
        error={instances.error}
        paging={list}
      />
    </div>
  );
}
