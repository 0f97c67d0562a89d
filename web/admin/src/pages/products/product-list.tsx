import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input } from "@rustbill/ui/input";
import { Badge } from "@rustbill/ui/card";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterForm, FilterSelect, useDraft } from "@/components/filters";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import type { ProductInfo } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import { useListQuery, useListState, type ListState } from "@/lib/list";
import { formatMoney } from "@rustbill/ui/utils";
import { BatchActions } from "./batch-actions";
import {
  CATALOG_KEY, CYCLES, CatalogNav, CategoryFilter, GroupField, providerLabel, useAllGroups, useProviders,
} from "./shared";

const FILTERS = ["q", "provider", "group", "category", "status", "region"] as const;

export function ProductList() {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const navigate = useNavigate();
  const list = useListState(FILTERS);
  const { filters } = list;
  const providers = useProviders();
  const groups = useAllGroups();

  const query = useListQuery(CATALOG_KEY, list, (pagination) =>
    api.products.listProducts({
      pagination,
      search: filters.q || undefined,
      interfaceId: filters.provider || undefined,
      groupId: filters.group || undefined,
      categoryId: filters.category || undefined,
      isActive: filters.status === "active" ? true : filters.status === "inactive" ? false : undefined,
      region: filters.region || undefined,
    }),
  );

  // The selection belongs to the page on screen: another page or filter
  // starts with none.
  const scope = JSON.stringify([list.page, list.pageSize, filters]);
  const [selection, setSelection] = React.useState<{ scope: string; ids: Set<string> }>({ scope, ids: new Set() });
  const selected = selection.scope === scope ? selection.ids : new Set<string>();
  const select = (ids: Set<string>) => setSelection({ scope, ids });

  const groupName = (id: string) => groups.data?.find((group) => group.id === id)?.name ?? id;

  const columns: Column<ProductInfo>[] = [
    {
      key: "name",
      header: t("field.name"),
      cell: (product) => (
        <Link className="font-medium text-primary hover:underline" to={`/products/${product.id}`} onClick={(e) => e.stopPropagation()}>
          {product.name}
        </Link>
      ),
    },
    { key: "provider", header: t("field.provider"), cell: (product) => providerLabel(providers.data, product.interfaceId) },
    { key: "group", header: t("field.group"), cell: (product) => (product.groupId ? groupName(product.groupId) : "—") },
    {
      key: "prices",
      header: t("field.prices"),
      cell: (product) => (
        <div className="flex flex-wrap gap-1">
          {CYCLES.filter((cycle) => product.billingCycles[cycle]).map((cycle) => (
            <Badge key={cycle}>
              {t(`cycle.${cycle}`)} {formatMoney(product.billingCycles[cycle])}
            </Badge>
          ))}
        </div>
      ),
    },
    { key: "cost", header: t("field.costPrice"), cell: (product) => formatMoney(product.costPrice) || "—" },
    { key: "region", header: t("field.region"), cell: (product) => product.specs.region || "—" },
    {
      key: "status",
      header: t("field.status"),
      cell: (product) => <StatusBadge status={product.isActive ? "active" : "inactive"} />,
    },
    timeColumn("created", t("field.createdAt"), (product) => product.createdAt),
  ];

  return (
    <div>
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          <Button onClick={() => navigate("/products/new")}>
            <Plus />
            {t("newProduct")}
          </Button>
        }
      />
      <CatalogNav />
      <div className="grid gap-4">
        <Filters list={list} />
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <FilterSelect
            id="filter-provider"
            label={t("field.provider")}
            value={filters.provider}
            onChange={(value) => list.setFilter("provider", value)}
            options={(providers.data ?? []).map((provider) => [provider.interfaceId, provider.providerName])}
          />
          <CategoryFilter value={filters.category} onChange={(value) => list.setFilter("category", value)} />
          <GroupField id="filter-group" empty={tc("all")} value={filters.group} onChange={(value) => list.setFilter("group", value)} />
          <FilterSelect
            id="filter-status"
            label={t("field.status")}
            value={filters.status}
            onChange={(value) => list.setFilter("status", value)}
            options={[
              ["active", t("status.active")],
              ["inactive", t("status.inactive")],
            ]}
          />
        </div>
        <BatchActions ids={[...selected]} onDeleted={() => select(new Set())} />
        <DataTable
          columns={columns}
          rows={query.data?.products}
          rowKey={(product) => product.id}
          meta={query.data?.meta}
          loading={query.isFetching}
          error={query.error}
          paging={list}
          selection={{ selected, onChange: select }}
          onRowClick={(product) => navigate(`/products/${product.id}`)}
        />
      </div>
    </div>
  );
}

/** The text filters (keyword, region), applied on submit. */
function Filters({ list }: { list: ListState<(typeof FILTERS)[number]> }) {
  const { t } = useTranslation("products");
  const [q, setQ] = useDraft(list.filters.q);
  const [region, setRegion] = useDraft(list.filters.region);
  return (
    <FilterForm
      className="flex flex-wrap items-end gap-3"
      onSearch={() => list.setFilters({ q: q.trim(), region: region.trim() })}
      onReset={list.clearFilters}
    >
      <div className="w-64">
        <Field label={t("filter.keyword")} htmlFor="filter-q">
          <Input id="filter-q" type="search" value={q} placeholder={t("filter.keywordPlaceholder")} onChange={(e) => setQ(e.target.value)} />
        </Field>
      </div>
      <div className="w-40">
        <Field label={t("field.region")} htmlFor="filter-region">
          <Input id="filter-region" value={region} onChange={(e) => setRegion(e.target.value)} />
        </Field>
      </div>
    </FilterForm>
  );
}
