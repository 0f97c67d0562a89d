import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input, Select } from "@rustbill/ui/input";
import { Badge } from "@rustbill/ui/card";
import { DataTable, type Column } from "@/components/data-table";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import type { ProductInfo } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import { useListState, type ListState } from "@/lib/list";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { BatchActions } from "./batch-actions";
import {
  CATALOG_KEY, CYCLES, CatalogNav, GroupSelect, providerLabel, useAllCategories, useAllGroups, useProviders,
} from "./shared";

const FILTERS = ["q", "provider", "group", "category", "status", "region"] as const;

export function ProductList() {
  const { t, i18n } = useTranslation("products");
  const { t: tc } = useTranslation();
  const navigate = useNavigate();
  const list = useListState(FILTERS);
  const { filters } = list;
  const providers = useProviders();
  const groups = useAllGroups();
  const categories = useAllCategories();

  const query = useQuery({
    queryKey: [...CATALOG_KEY, "list", list.page, list.pageSize, filters],
    queryFn: () =>
      api.products.listProducts({
        pagination: list.pageRequest,
        search: filters.q || undefined,
        interfaceId: filters.provider || undefined,
        groupId: filters.group || undefined,
        categoryId: filters.category || undefined,
        isActive: filters.status === "active" ? true : filters.status === "inactive" ? false : undefined,
        region: filters.region || undefined,
      }),
    placeholderData: keepPreviousData,
  });

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
    { key: "created", header: t("field.createdAt"), cell: (product) => formatDateTime(product.createdAt, i18n.language) },
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
          <Field label={t("field.provider")} htmlFor="filter-provider">
            <Select id="filter-provider" value={filters.provider} onChange={(e) => list.setFilter("provider", e.target.value)}>
              <option value="">{tc("all")}</option>
              {(providers.data ?? []).map((provider) => (
                <option key={provider.interfaceId} value={provider.interfaceId}>
                  {provider.providerName}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t("field.category")} htmlFor="filter-category">
            <Select id="filter-category" value={filters.category} onChange={(e) => list.setFilter("category", e.target.value)}>
              <option value="">{tc("all")}</option>
              {(categories.data ?? []).map((category) => (
                <option key={category.id} value={category.id}>
                  {category.name}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t("field.group")} htmlFor="filter-group">
            <GroupSelect
              id="filter-group"
              groups={groups.data}
              categories={categories.data}
              empty={tc("all")}
              value={filters.group}
              onChange={(e) => list.setFilter("group", e.target.value)}
            />
          </Field>
          <Field label={t("field.status")} htmlFor="filter-status">
            <Select id="filter-status" value={filters.status} onChange={(e) => list.setFilter("status", e.target.value)}>
              <option value="">{tc("all")}</option>
              <option value="active">{t("status.active")}</option>
              <option value="inactive">{t("status.inactive")}</option>
            </Select>
          </Field>
        </div>
        <BatchActions ids={[...selected]} onDeleted={() => select(new Set())} />
        <DataTable
          columns={columns}
          rows={query.data?.products}
          rowKey={(product) => product.id}
          meta={query.data?.meta}
          loading={query.isFetching}
          error={query.error}
          onPage={list.setPage}
          onPageSize={list.setPageSize}
          pageSize={list.pageSize}
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
  const { t: tc } = useTranslation();
  const [q, setQ] = React.useState(list.filters.q);
  const [region, setRegion] = React.useState(list.filters.region);
  React.useEffect(() => {
    setQ(list.filters.q);
    setRegion(list.filters.region);
  }, [list.filters.q, list.filters.region]);
  return (
    <form
      className="flex flex-wrap items-end gap-3"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        list.setFilters({ q: q.trim(), region: region.trim() });
      }}
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
      <Button type="submit">{tc("action.search")}</Button>
      <Button
        type="button"
        variant="outline"
        onClick={() => list.setFilters({ q: "", region: "", provider: "", group: "", category: "", status: "" })}
      >
        {tc("action.reset")}
      </Button>
    </form>
  );
}
