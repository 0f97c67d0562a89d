// Products from provider plugins: sync a provider's offer
// (ProductService.SyncProducts runs the plugin's sync_products()) or import
// upstream products by hand (ImportUpstreamProducts), optionally repricing
// them at a markup over cost (BatchUpdatePrice).
import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { useQuery } from "@tanstack/react-query";
import { Plus, RefreshCw, Trash2, Upload } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { DataTable, type Column } from "@/components/data-table";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge, TitledCard } from "@/components/page";
import type { BatchUpdatePriceResponse, ProductInfo } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import { formatMoney } from "@rustbill/ui/utils";
import { BatchActions } from "./batch-actions";
import {
  CATALOG_KEY, CatalogNav, GroupField, markupPercent, useCatalogMutation, useProviders, validMarkup,
} from "./shared";

export function UpstreamPage() {
  const { t } = useTranslation("products");
  return (
    <div>
      <PageHeader title={t("upstream.title")} description={t("upstream.description")} />
      <CatalogNav />
      <div className="grid gap-6">
        <SyncCard />
        <ImportCard />
      </div>
    </div>
  );
}

/** Provider, group and optional markup ratio: the inputs both cards share. */
function useTarget() {
  const [interfaceId, setInterfaceId] = React.useState("");
  const [groupId, setGroupId] = React.useState("");
  const [markup, setMarkup] = React.useState("");
  return { interfaceId, setInterfaceId, groupId, setGroupId, markup, setMarkup };
}

/** The fields of a `useTarget` state. */
function TargetFields({
  prefix,
  target: { interfaceId, setInterfaceId, groupId, setGroupId, markup, setMarkup },
  errors,
}: {
  prefix: string;
  target: ReturnType<typeof useTarget>;
  errors: Record<string, string>;
}) {
  const { t } = useTranslation("products");
  const providers = useProviders();
  const percent = markupPercent(markup);
  const chosen = providers.data?.find((provider) => provider.interfaceId === interfaceId);
  return (
    <div className="grid gap-4 md:grid-cols-3">
      <Field
        label={t("field.provider")}
        htmlFor={`${prefix}-provider`}
        error={errors.interface_id}
        hint={
          chosen
            ? [
                t(`provider.${chosen.providerType}`, { defaultValue: chosen.providerType }),
                chosen.isHealthy ? "" : t("provider.unhealthyHint"),
              ]
                .filter(Boolean)
                .join(" · ")
            : undefined
        }
      >
        <Select id={`${prefix}-provider`} value={interfaceId} onChange={(e) => setInterfaceId(e.target.value)} required>
          <option value="">{t("form.chooseProvider")}</option>
          {(providers.data ?? []).map((provider) => (
            <option key={provider.interfaceId} value={provider.interfaceId}>
              {provider.providerName}
            </option>
          ))}
        </Select>
      </Field>
      <GroupField id={`${prefix}-group`} value={groupId} onChange={setGroupId} error={errors.group_id} />
      <Field
        label={t("upstream.markup")}
        htmlFor={`${prefix}-markup`}
        error={errors.markup_ratio}
        hint={percent ? t("markup.preview", { percent }) : t("upstream.markupHint")}
      >
        <Input id={`${prefix}-markup`} inputMode="decimal" placeholder="1.3" value={markup} onChange={(e) => setMarkup(e.target.value)} />
      </Field>
    </div>
  );
}

function repricedSummary(t: TFunction, repriced?: BatchUpdatePriceResponse) {
  if (!repriced) return "";
  return [
    t("batch.repriced", { count: repriced.updatedCount }),
    repriced.skippedProductIds.length > 0 ? t("batch.skippedNoCost", { count: repriced.skippedProductIds.length }) : "",
  ]
    .filter(Boolean)
    .join(" ");
}

function SyncCard() {
  const { t } = useTranslation("products");
  const providers = useProviders();
  const target = useTarget();
  const { interfaceId, groupId, markup } = target;
  const [result, setResult] = React.useState<{ providerName: string; ids: string[]; repriced?: BatchUpdatePriceResponse }>();

  const sync = useCatalogMutation(
    async () => {
      const response = await api.products.syncProducts({ interfaceId, groupId });
      const ratio = markup.trim();
      if (!ratio || response.synced.length === 0) return { response };
      // The provider's prices are what the upstream charges: a product
      // without a cost price takes its synced monthly price as cost.
      for (const product of response.synced) {
        if (!product.costPrice && Number(product.pricePerMonth) > 0) {
          await api.products.updateProduct({ id: product.id, costPrice: product.pricePerMonth });
        }
      }
      const repriced = await api.products.batchUpdatePrice({
        productIds: response.synced.map((product) => product.id),
        markupRatio: ratio,
      });
      return { response, repriced };
    },
    ({ response, repriced }) =>
      [t("upstream.synced", { count: response.count }), repricedSummary(t, repriced)].filter(Boolean).join(" "),
    ({ response, repriced }) =>
      setResult({
        providerName: providers.data?.find((p) => p.interfaceId === interfaceId)?.providerName ?? interfaceId,
        ids: response.synced.map((product) => product.id),
        repriced,
      }),
  );

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!interfaceId) {
      sync.setErrors({ interface_id: t("form.chooseProvider") });
      return;
    }
    if (markup.trim() && !validMarkup(markup)) {
      sync.setErrors({ markup_ratio: t("markup.invalid") });
      return;
    }
    setResult(undefined);
    sync.run(undefined);
  };

  return (
    <TitledCard title={t("upstream.syncTitle")} description={t("upstream.syncHint")} contentClassName="grid gap-4">
      <form className="grid gap-4" onSubmit={submit} noValidate>
        <TargetFields prefix="sync" target={target} errors={sync.errors} />
        <div>
          <Button type="submit" disabled={sync.pending}>
            <RefreshCw className={sync.pending ? "animate-spin" : undefined} />
            {sync.pending ? t("upstream.syncing") : t("upstream.sync")}
          </Button>
        </div>
      </form>
      {result ? <SyncResult {...result} /> : null}
    </TitledCard>
  );
}

/** The synced products, current (refetched after every catalog change), with the batch actions. */
function SyncResult({ providerName, ids, repriced }: { providerName: string; ids: string[]; repriced?: BatchUpdatePriceResponse }) {
  const { t } = useTranslation("products");
  const products = useQuery({
    queryKey: [...CATALOG_KEY, "synced", ids],
    queryFn: () =>
      Promise.all(ids.map(async (id) => (await api.products.getProduct({ id })).product)).then((list) =>
        list.filter((product): product is ProductInfo => product !== undefined),
      ),
  });
  const [selected, setSelected] = React.useState<Set<string>>(new Set());
  const columns: Column<ProductInfo>[] = [
    {
      key: "name",
      header: t("field.name"),
      cell: (product) => (
        <Link className="font-medium text-primary hover:underline" to={`/products/${product.id}`}>
          {product.name}
        </Link>
      ),
    },
    { key: "monthly", header: t("field.pricePerMonth"), cell: (product) => formatMoney(product.pricePerMonth) },
    { key: "cost", header: t("field.costPrice"), cell: (product) => formatMoney(product.costPrice) || "—" },
    { key: "status", header: t("field.status"), cell: (product) => <StatusBadge status={product.isActive ? "active" : "inactive"} /> },
  ];
  return (
    <section aria-label={t("upstream.resultTitle")} className="grid gap-3 border-t pt-4">
      <div role="status" className="text-sm">
        <p className="font-medium">{t("upstream.resultSummary", { count: ids.length, provider: providerName })}</p>
        {repriced ? <p>{repricedSummary(t, repriced)}</p> : null}
        <p className="text-muted-foreground">{t("upstream.inactiveNote")}</p>
      </div>
      {ids.length > 0 ? (
        <>
          <BatchActions ids={[...selected].filter((id) => ids.includes(id))} onDeleted={() => setSelected(new Set())} />
          <DataTable
            columns={columns}
            rows={products.data}
            rowKey={(product) => product.id}
            loading={products.isFetching}
            error={products.error}
            selection={{ selected, onChange: setSelected }}
          />
        </>
      ) : null}
    </section>
  );
}

interface ItemRow {
  id: number;
  name: string;
  description: string;
  costPrice: string;
  upstreamId: string;
  specs: string;
}

/** "key=value" lines → a map; null when a non-empty line has no "=". */
function parseSpecs(text: string): Record<string, string> | null {
  const specs: Record<string, string> = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at <= 0) return null;
    specs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return specs;
}

function ImportCard() {
  const { t } = useTranslation("products");
  const target = useTarget();
  const { interfaceId, groupId, markup } = target;
  const nextRow = React.useRef(1);
  const blank = (): ItemRow => ({ id: nextRow.current++, name: "", description: "", costPrice: "", upstreamId: "", specs: "" });
  const [rows, setRows] = React.useState<ItemRow[]>(() => [{ id: 0, name: "", description: "", costPrice: "", upstreamId: "", specs: "" }]);
  const [done, setDone] = React.useState<{ imported: number; interfaceId: string; repriced?: BatchUpdatePriceResponse }>();
  const update = (id: number, change: Partial<ItemRow>) =>
    setRows((current) => current.map((row) => (row.id === id ? { ...row, ...change } : row)));

  const importing = useCatalogMutation(
    async (items: { name: string; description: string; costPrice: string; specs: Record<string, string> }[]) => {
      const response = await api.products.importUpstreamProducts({ interfaceId, items, groupId });
      const ratio = markup.trim();
      if (!ratio) return { imported: response.importedCount };
      // The import answers with a count only: find the products it wrote
      // (same provider, same name, same upstream id when one was given).
      const ids = new Set<string>();
      for (const item of items) {
        const found = await api.products.listProducts({ interfaceId, search: item.name, pagination: { page: 1, pageSize: 100 } });
        for (const product of found.products) {
          if (product.name === item.name && product.specs.upstream_product_id === item.specs.upstream_product_id) {
            ids.add(product.id);
          }
        }
      }
      if (ids.size === 0) return { imported: response.importedCount };
      const repriced = await api.products.batchUpdatePrice({ productIds: [...ids], markupRatio: ratio });
      return { imported: response.importedCount, repriced };
    },
    ({ imported, repriced }) => [t("upstream.imported", { count: imported }), repricedSummary(t, repriced)].filter(Boolean).join(" "),
    (result) => {
      setDone({ ...result, interfaceId });
      setRows([blank()]);
    },
  );
  const errors = importing.errors;

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!interfaceId) local.interface_id = t("form.chooseProvider");
    if (markup.trim() && !validMarkup(markup)) local.markup_ratio = t("markup.invalid");
    const items = rows.map((row, index) => {
      const specs = parseSpecs(row.specs);
      if (specs === null) local[`items[${index}].specs`] = t("upstream.specsFormat");
      return {
        name: row.name.trim(),
        description: row.description,
        costPrice: row.costPrice.trim(),
        specs: { ...(specs ?? {}), ...(row.upstreamId.trim() ? { upstream_product_id: row.upstreamId.trim() } : {}) },
      };
    });
    if (Object.keys(local).length > 0) {
      importing.setErrors(local);
      return;
    }
    setDone(undefined);
    importing.run(items);
  };

  return (
    <TitledCard title={t("upstream.importTitle")} description={t("upstream.importHint")}>
      <form className="grid gap-4" onSubmit={submit} noValidate>
        <TargetFields prefix="import" target={target} errors={errors} />
        <div className="grid gap-3">
          {rows.map((row, index) => {
            const prefix = `item-${row.id}`;
            const error = (field: string) => errors[`items[${index}].${field}`];
            const specsError = Object.entries(errors).find(([key]) => key.startsWith(`items[${index}].specs`))?.[1];
            return (
              <fieldset key={row.id} className="grid gap-3 rounded-md border p-3 md:grid-cols-[2fr_1fr_1fr_auto]">
                <legend className="px-1 text-xs text-muted-foreground">{t("upstream.item", { n: index + 1 })}</legend>
                <Field label={t("field.name")} htmlFor={`${prefix}-name`} error={error("name")}>
                  <Input id={`${prefix}-name`} value={row.name} onChange={(e) => update(row.id, { name: e.target.value })} />
                </Field>
                <Field label={t("field.costPrice")} htmlFor={`${prefix}-cost`} error={error("cost_price")}>
                  <Input
                    id={`${prefix}-cost`}
                    inputMode="decimal"
                    placeholder="0.00"
                    value={row.costPrice}
                    onChange={(e) => update(row.id, { costPrice: e.target.value })}
                  />
                </Field>
                <Field label={t("upstream.upstreamId")} htmlFor={`${prefix}-upstream`}>
                  <Input id={`${prefix}-upstream`} value={row.upstreamId} onChange={(e) => update(row.id, { upstreamId: e.target.value })} />
                </Field>
                <div className="flex items-end">
                  <Button
                    type="button"
                    variant="ghost"
                    size="icon"
                    disabled={rows.length === 1}
                    aria-label={t("upstream.removeItem", { n: index + 1 })}
                    onClick={() => setRows((current) => current.filter((item) => item.id !== row.id))}
                  >
                    <Trash2 />
                  </Button>
                </div>
                <div className="md:col-span-2">
                  <Field label={t("field.description")} htmlFor={`${prefix}-description`} error={error("description")}>
                    <Textarea
                      id={`${prefix}-description`}
                      rows={2}
                      value={row.description}
                      onChange={(e) => update(row.id, { description: e.target.value })}
                    />
                  </Field>
                </div>
                <div className="md:col-span-2">
                  <Field label={t("upstream.specs")} htmlFor={`${prefix}-specs`} error={specsError} hint={t("upstream.specsFormat")}>
                    <Textarea
                      id={`${prefix}-specs`}
                      rows={2}
                      className="font-mono"
                      placeholder={"cpu_cores=2\nmemory_gb=4\nregion=hk"}
                      value={row.specs}
                      onChange={(e) => update(row.id, { specs: e.target.value })}
                    />
                  </Field>
                </div>
              </fieldset>
            );
          })}
          {errors.items ? (
            <p role="alert" className="text-xs text-destructive">
              {errors.items}
            </p>
          ) : null}
        </div>
        <div className="flex flex-wrap gap-2">
          <Button type="button" variant="outline" onClick={() => setRows((current) => [...current, blank()])}>
            <Plus />
            {t("upstream.addItem")}
          </Button>
          <Button type="submit" disabled={importing.pending}>
            <Upload />
            {t("upstream.import")}
          </Button>
        </div>
      </form>
      {done ? (
        <div role="status" className="mt-4 grid gap-1 border-t pt-4 text-sm">
          <p className="font-medium">{t("upstream.imported", { count: done.imported })}</p>
          {done.repriced ? <p>{repricedSummary(t, done.repriced)}</p> : null}
          <p className="text-muted-foreground">{t("upstream.importedNote")}</p>
          <Link className="text-primary hover:underline" to={`/products?provider=${done.interfaceId}`}>
            {t("upstream.viewProviderProducts")}
          </Link>
        </div>
      ) : null}
    </TitledCard>
  );
}
