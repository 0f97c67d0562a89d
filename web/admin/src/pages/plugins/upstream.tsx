import * as React from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { RefreshCw } from "lucide-react";
import type { PluginInterfaceInfo, UpstreamInstanceItem } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Input, Select } from "@rustbill/ui/input";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { DialogActions, RecordDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { Loading, QueryError, StatusBadge, TitledCard } from "@/components/page";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { formatMoney } from "@rustbill/ui/utils";
import { keys } from "./shared";

/**
 * An upstream provider's extras: the account balance at the upstream and
 * the instances it runs for us, each importable into the local instance
 * table. Both call the plugin, which only runs while the interface is
 * enabled.
 */
export function UpstreamTab({ iface }: { iface: PluginInterfaceInfo }) {
  const { t } = useTranslation("plugins");
  if (!iface.enabled) {
    return <p className="text-sm text-muted-foreground">{t("upstream.needsEnabled")}</p>;
  }
  return (
    <div className="grid gap-4">
      <BalanceCard interfaceId={iface.id} />
      <InstancesCard interfaceId={iface.id} />
    </div>
  );
}

function BalanceCard({ interfaceId }: { interfaceId: string }) {
  const { t } = useTranslation("plugins");
  const balance = useQuery({
    queryKey: [...keys.upstream(interfaceId), "balance"],
    queryFn: () => api.integration.getUpstreamBalance({ interfaceId }),
    // Each try calls the upstream through the plugin: fail fast, refresh by hand.
    retry: false,
  });
  return (
    <TitledCard
      title={t("upstream.balance")}
      actions={
        <Button variant="outline" size="sm" disabled={balance.isFetching} onClick={() => void balance.refetch()}>
          <RefreshCw />
          {t("action.refresh", { ns: "common" })}
        </Button>
      }
    >
      {balance.error ? (
        <QueryError error={balance.error} />
      ) : balance.data ? (
        <p className="text-2xl font-semibold" data-testid="upstream-balance">
          {formatMoney(balance.data.balance, balance.data.currency)}
        </p>
      ) : (
        <Loading />
      )}
    </TitledCard>
  );
}

function InstancesCard({ interfaceId }: { interfaceId: string }) {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const [importing, setImporting] = React.useState<UpstreamInstanceItem | null>(null);
  const instances = useQuery({
    queryKey: [...keys.upstream(interfaceId), "instances"],
    queryFn: () => api.integration.syncUpstreamInstances({ interfaceId }),
    retry: false,
  });
  const columns: Column<UpstreamInstanceItem>[] = [
    { key: "id", header: t("upstream.instanceId"), cell: (row) => <span className="font-mono text-xs">{row.instanceId}</span> },
    { key: "status", header: t("field.status"), cell: (row) => <StatusBadge status={row.status} /> },
    { key: "ip", header: t("upstream.ip"), cell: (row) => <span className="font-mono text-xs">{row.ipAddress || "—"}</span> },
    timeColumn("created", t("field.createdAt"), (row) => row.createdAt),
    ...(isAdmin
      ? [
          {
            key: "actions",
            header: t("field.actions"),
            cell: (row: UpstreamInstanceItem) => (
              <Button variant="outline" size="sm" onClick={() => setImporting(row)}>
                {t("upstream.import")}
              </Button>
            ),
          },
        ]
      : []),
  ];
  return (
    <TitledCard
      title={t("upstream.instances")}
      actions={
        <Button variant="outline" size="sm" disabled={instances.isFetching} onClick={() => void instances.refetch()}>
          <RefreshCw />
          {instances.isFetching ? t("upstream.syncing") : t("upstream.sync")}
        </Button>
      }
    >
      <DataTable
        columns={columns}
        rows={instances.data?.instances}
        rowKey={(row) => row.instanceId}
        loading={instances.isPending}
        error={instances.error}
      />
      <RecordDialog
        record={importing}
        onClose={() => setImporting(null)}
        title={(instance) => t("upstream.importTitle", { id: instance.instanceId })}
        description={() => t("upstream.importDescription")}
      >
        {(instance) => <ImportForm interfaceId={interfaceId} instance={instance} onDone={() => setImporting(null)} />}
      </RecordDialog>
    </TitledCard>
  );
}

/** ImportUpstreamInstance: the local instance needs its customer and the product it is sold as. */
function ImportForm({
  interfaceId,
  instance,
  onDone,
}: {
  interfaceId: string;
  instance: UpstreamInstanceItem;
  onDone: () => void;
}) {
  const { t } = useTranslation("plugins");
  const navigate = useNavigate();
  const [search, setSearch] = React.useState("");
  const [customerId, setCustomerId] = React.useState("");
  const [productId, setProductId] = React.useState("");
  const customers = useQuery({
    queryKey: [...keys.upstream(interfaceId), "customers", search],
    queryFn: () => api.customers.listCustomers({ pagination: { page: 1, pageSize: 20 }, search: search || undefined }),
    placeholderData: keepPreviousData,
  });
  const products = useQuery({
    queryKey: [...keys.upstream(interfaceId), "products"],
    queryFn: () => api.products.listProducts({ pagination: { page: 1, pageSize: 100 }, interfaceId }),
  });
  const importInstance = useApiMutation(
    () =>
      api.integration.importUpstreamInstance({ interfaceId, instanceId: instance.instanceId, customerId, productId }),
    {
      successMessage: t("upstream.imported"),
      onSuccess: (result) => {
        onDone();
        navigate(`/instances/${result.instanceId}`);
      },
    },
  );
  return (
    <Form onSubmit={() => importInstance.mutate(undefined)}>
      {customers.error ? <QueryError error={customers.error} /> : null}
      {products.error ? <QueryError error={products.error} /> : null}
      <Field label={t("upstream.customerSearch")} htmlFor="import-customer-search">
        <Input id="import-customer-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      </Field>
      <Field label={t("upstream.customer")} htmlFor="import-customer" error={importInstance.errors.customer_id}>
        <Select id="import-customer" required value={customerId} onChange={(event) => setCustomerId(event.target.value)}>
          <option value="">{t("upstream.pickCustomer")}</option>
          {(customers.data?.customers ?? []).map((customer) => (
            <option key={customer.id} value={customer.id}>
              {customer.email ? `${customer.name} <${customer.email}>` : customer.name}
            </option>
          ))}
        </Select>
      </Field>
      <Field
        label={t("upstream.product")}
        htmlFor="import-product"
        error={importInstance.errors.product_id}
        hint={t("upstream.productHint")}
      >
        <Select id="import-product" required value={productId} onChange={(event) => setProductId(event.target.value)}>
          <option value="">{t("upstream.pickProduct")}</option>
          {(products.data?.products ?? []).map((product) => (
            <option key={product.id} value={product.id}>
              {product.name}
            </option>
          ))}
        </Select>
      </Field>
      <DialogActions submit={t("upstream.import")} onCancel={onDone} disabled={importInstance.isPending || !customerId || !productId} />
    </Form>
  );
}
