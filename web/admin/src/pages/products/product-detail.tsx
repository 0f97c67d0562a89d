import { Link, useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { Pencil } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { ConfirmButton } from "@/components/confirm";
import { Details, PageHeader, QueryError, StatusBadge, TitledCard } from "@/components/page";
import type { ProductInfo } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { ProductForm } from "./product-form";
import {
  CATALOG_KEY, CYCLES, markupPercent, templateFields, useAllCategories, useAllGroups, useCatalogMutation, useProviders,
} from "./shared";

function useProduct(id: string) {
  return useQuery({
    queryKey: [...CATALOG_KEY, "detail", id],
    queryFn: async () => (await api.products.getProduct({ id })).product ?? null,
  });
}

export function NewProductPage() {
  const { t } = useTranslation("products");
  return (
    <div>
      <PageHeader title={t("newProduct")} />
      <ProductForm />
    </div>
  );
}

export function EditProductPage() {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const { id = "" } = useParams();
  const query = useProduct(id);
  if (query.error) return <QueryError error={query.error} />;
  if (!query.data) return <p className="text-sm text-muted-foreground">{tc("loading")}</p>;
  return (
    <div>
      <PageHeader title={t("editTitle", { name: query.data.name })} />
      <ProductForm key={query.data.updatedAt} product={query.data} />
    </div>
  );
}

export function ProductDetail() {
  const { t, i18n } = useTranslation("products");
  const { t: tc } = useTranslation();
  const navigate = useNavigate();
  const { id = "" } = useParams();
  const query = useProduct(id);
  const providers = useProviders();
  const groups = useAllGroups();
  const categories = useAllCategories();

  const toggle = useCatalogMutation(
    (isActive: boolean) => api.products.updateProduct({ id, isActive }),
    (_, isActive) => t(isActive ? "detail.activated" : "detail.deactivated"),
  );
  const remove = useCatalogMutation(
    () => api.products.deleteProduct({ id }),
    (result) => (result.deactivated ? t("detail.deactivatedInstead") : t("detail.deleted")),
    (result) => {
      if (!result.deactivated) navigate("/products");
    },
  );

  if (query.error) return <QueryError error={query.error} />;
  const product = query.data;
  if (!product) return <p className="text-sm text-muted-foreground">{tc("loading")}</p>;

  const provider = providers.data?.find((item) => item.interfaceId === product.interfaceId);
  const group = groups.data?.find((item) => item.id === product.groupId);
  const category = categories.data?.find((item) => item.id === group?.categoryId);

  return (
    <div className="grid gap-4">
      <PageHeader
        title={product.name}
        description={<StatusBadge status={product.isActive ? "active" : "inactive"} />}
        actions={
          <>
            <Button variant="outline" onClick={() => navigate(`/products/${product.id}/edit`)}>
              <Pencil />
              {tc("action.edit")}
            </Button>
            <Button variant="outline" disabled={toggle.pending} onClick={() => toggle.run(!product.isActive)}>
              {product.isActive ? t("detail.deactivate") : t("detail.activate")}
            </Button>
            <ConfirmButton
              title={t("detail.deleteTitle", { name: product.name })}
              description={t("detail.deleteDescription")}
              confirmLabel={tc("action.delete")}
              onConfirm={() => remove.runAsync(undefined)}
            >
              {tc("action.delete")}
            </ConfirmButton>
          </>
        }
      />
      <div className="grid gap-4 lg:grid-cols-2">
        <TitledCard title={t("form.basics")}>
          <Details
            items={[
              [t("field.id"), <span className="font-mono text-xs">{product.id}</span>],
              [t("field.name"), product.name],
              [t("field.status"), <StatusBadge status={product.isActive ? "active" : "inactive"} />],
              [
                t("field.provider"),
                <span className="inline-flex flex-wrap items-center gap-2">
                  {provider?.providerName ?? <span className="font-mono text-xs">{product.interfaceId}</span>}
                  {provider ? <StatusBadge status={provider.isHealthy ? "healthy" : "unhealthy"} /> : null}
                  <Link className="text-primary hover:underline" to={`/products?provider=${product.interfaceId}`}>
                    {t("detail.providerProducts")}
                  </Link>
                </span>,
              ],
              [
                t("field.group"),
                product.groupId ? (
                  <Link className="text-primary hover:underline" to={`/products?group=${product.groupId}`}>
                    {group?.name ?? product.groupId}
                  </Link>
                ) : (
                  t("group.none")
                ),
              ],
              [
                t("field.category"),
                category ? (
                  <Link className="text-primary hover:underline" to={`/products?category=${category.id}`}>
                    {category.name}
                  </Link>
                ) : (
                  ""
                ),
              ],
              [t("field.createdAt"), formatDateTime(product.createdAt, i18n.language)],
              [t("field.updatedAt"), formatDateTime(product.updatedAt, i18n.language)],
            ]}
          />
        </TitledCard>
        <Pricing product={product} />
        <TitledCard title={t("field.description")}>
          {product.description ? (
            <p className="whitespace-pre-wrap break-words text-sm">{product.description}</p>
          ) : (
            <p className="text-sm text-muted-foreground">—</p>
          )}
        </TitledCard>
        <TitledCard title={t("form.specs")}>
          <SpecsTable product={product} labels={specLabels(templateFields(provider).flatMap((s) => s.fields))} />
        </TitledCard>
      </div>
    </div>
  );
}

function specLabels(fields: { key: string; label: string; unit: string }[]): Record<string, string> {
  return Object.fromEntries(fields.map((field) => [field.key, `${field.label || field.key}${field.unit ? ` (${field.unit})` : ""}`]));
}

function Pricing({ product }: { product: ProductInfo }) {
  const { t } = useTranslation("products");
  const extra = Object.keys(product.billingCycles).filter((cycle) => !(CYCLES as readonly string[]).includes(cycle));
  const cost = Number(product.costPrice);
  const monthly = Number(product.pricePerMonth);
  const markup = cost > 0 && monthly > 0 ? markupPercent(String(monthly / cost)) : "";
  return (
    <TitledCard title={t("form.pricing")} contentClassName="grid gap-3">
      <Table>
        <THead>
          <TR>
            <TH>{t("field.cycle")}</TH>
            <TH className="text-right">{t("field.price")}</TH>
          </TR>
        </THead>
        <TBody>
          {[...CYCLES.filter((cycle) => product.billingCycles[cycle]), ...extra].map((cycle) => (
            <TR key={cycle}>
              <TD>{t(`cycle.${cycle}`, { defaultValue: cycle })}</TD>
              <TD className="text-right font-mono">{formatMoney(product.billingCycles[cycle])}</TD>
            </TR>
          ))}
        </TBody>
      </Table>
      <Details
        items={[
          [t("field.pricePerMonth"), formatMoney(product.pricePerMonth)],
          [t("field.costPrice"), formatMoney(product.costPrice)],
          [t("field.markup"), markup],
        ]}
      />
    </TitledCard>
  );
}

function SpecsTable({ product, labels }: { product: ProductInfo; labels: Record<string, string> }) {
  const { t } = useTranslation("products");
  const entries = Object.entries(product.specs).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p className="text-sm text-muted-foreground">{t("detail.noSpecs")}</p>;
  return (
    <Table>
      <THead>
        <TR>
          <TH>{t("spec.key")}</TH>
          <TH>{t("spec.label")}</TH>
          <TH>{t("spec.value")}</TH>
        </TR>
      </THead>
      <TBody>
        {entries.map(([key, value]) => (
          <TR key={key}>
            <TD className="font-mono text-xs">{key}</TD>
            <TD>{labels[key] ?? ""}</TD>
            <TD className="break-all">{value}</TD>
          </TR>
        ))}
      </TBody>
    </Table>
  );
}
