// Pieces shared by the catalog pages: pick lists (providers, groups,
// categories), the section tabs, and a mutation hook whose success toast
// summarises the server's answer.
import * as React from "react";
import { NavLink } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Select } from "@rustbill/ui/input";
import { FilterSelect } from "@/components/filters";
import { Field } from "@/components/form";
import type { ProviderInfo } from "@/gen/rustbill/integration/integration_pb";
import type { ProductCategoryInfo } from "@/gen/rustbill/product/product_category_pb";
import type { ProductGroupInfo } from "@/gen/rustbill/product/product_group_pb";
import type { SpecField } from "@/gen/rustbill/product/product_pb";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { cn } from "@rustbill/ui/utils";

/** Billing cycles a product can be priced for (services/catalog validate::CYCLES). */
export const CYCLES = ["monthly", "quarterly", "yearly", "one_time"] as const;
export type Cycle = (typeof CYCLES)[number];

/** Every catalog query starts with this key; mutations invalidate it. */
export const CATALOG_KEY = ["products"] as const;

/** The server caps page_size at 100. */
const PAGE_MAX = 100;

async function allPages<T>(load: (page: number) => Promise<{ items: T[]; totalPages: number }>): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; ; page += 1) {
    const { items, totalPages } = await load(page);
    out.push(...items);
    if (items.length === 0 || page >= totalPages) return out;
  }
}

/** Enabled provider interfaces, with health and spec template. */
export function useProviders() {
  return useQuery({
    queryKey: [...CATALOG_KEY, "providers"],
    queryFn: async () => (await api.integration.listProviders({})).providers,
    staleTime: 60_000,
  });
}

/** All product groups (for pick lists and names), in display order. */
export function useAllGroups() {
  return useQuery({
    queryKey: [...CATALOG_KEY, "groups", "all"],
    queryFn: () =>
      allPages<ProductGroupInfo>(async (page) => {
        const response = await api.groups.listProductGroups({ pagination: { page, pageSize: PAGE_MAX } });
        return { items: response.groups, totalPages: response.meta?.totalPages ?? 1 };
      }),
    staleTime: 30_000,
  });
}

/** All product categories (for pick lists and names). */
export function useAllCategories() {
  return useQuery({
    queryKey: [...CATALOG_KEY, "categories", "all"],
    queryFn: () =>
      allPages<ProductCategoryInfo>(async (page) => {
        const response = await api.categories.listProductCategories({ pagination: { page, pageSize: PAGE_MAX } });
        return { items: response.categories, totalPages: response.meta?.totalPages ?? 1 };
      }),
    staleTime: 30_000,
  });
}

export function providerLabel(providers: ProviderInfo[] | undefined, id: string): string {
  return providers?.find((provider) => provider.interfaceId === id)?.providerName ?? id;
}

/** A spec template's fields, flat ones first, each group's after, in display order. */
export function templateFields(provider: ProviderInfo | undefined): { group: string; fields: SpecField[] }[] {
  const template = provider?.specTemplate;
  if (!template) return [];
  const byOrder = (a: { displayOrder: number }, b: { displayOrder: number }) => a.displayOrder - b.displayOrder;
  const sections: { group: string; fields: SpecField[] }[] = [];
  if (template.fields.length > 0) sections.push({ group: "", fields: [...template.fields].sort(byOrder) });
  for (const group of [...template.groups].sort(byOrder)) {
    if (group.fields.length > 0) sections.push({ group: group.label || group.key, fields: [...group.fields].sort(byOrder) });
  }
  return sections;
}

/** The section tabs of the catalog. */
export function CatalogNav() {
  const { t } = useTranslation("products");
  const links = [
    { to: "/products", label: t("nav.products"), end: true },
    { to: "/products/groups", label: t("nav.groups"), end: false },
    { to: "/products/categories", label: t("nav.categories"), end: false },
    { to: "/products/upstream", label: t("nav.upstream"), end: false },
  ];
  return (
    <nav aria-label={t("nav.label")} className="mb-4 inline-flex h-9 items-center rounded-lg bg-muted p-1">
      {links.map((link) => (
        <NavLink
          key={link.to}
          to={link.to}
          end={link.end}
          className={({ isActive }) =>
            cn(
              "inline-flex items-center rounded-md px-3 py-1 text-sm font-medium text-muted-foreground",
              isActive && "bg-background text-foreground shadow",
            )
          }
        >
          {link.label}
        </NavLink>
      ))}
    </nav>
  );
}

/** The category filter of a catalog list. */
export function CategoryFilter({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const { t } = useTranslation("products");
  const categories = useAllCategories();
  return (
    <FilterSelect
      id="filter-category"
      label={t("field.category")}
      value={value}
      onChange={onChange}
      options={(categories.data ?? []).map((category) => [category.id, category.name])}
    />
  );
}

/**
 * The labelled group picker (a native select, groups listed under their
 * category). `empty` labels the "" choice: no group (the default), or "All"
 * in a filter.
 */
export function GroupField({
  id,
  value,
  onChange,
  empty,
  error,
}: {
  id: string;
  value: string;
  onChange: (groupId: string) => void;
  empty?: string;
  error?: string;
}) {
  const { t } = useTranslation("products");
  const groups = useAllGroups();
  const categories = useAllCategories();
  const all = groups.data ?? [];
  const known = categories.data ?? [];
  const sections = [
    ...known.map((category) => ({
      label: category.name,
      groups: all.filter((group) => group.categoryId === category.id),
    })),
    {
      label: t("group.noCategory"),
      groups: all.filter((group) => !group.categoryId || !known.some((c) => c.id === group.categoryId)),
    },
  ].filter((section) => section.groups.length > 0);
  return (
    <Field label={t("field.group")} htmlFor={id} error={error}>
      <Select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{empty ?? t("group.none")}</option>
        {sections.map((section, index) => (
          <optgroup key={index} label={section.label}>
            {section.groups.map((group) => (
              <option key={group.id} value={group.id}>
                {group.name}
              </option>
            ))}
          </optgroup>
        ))}
      </Select>
    </Field>
  );
}

/**
 * A catalog mutation: on success the catalog queries are refetched and
 * `summary(result)` is toasted. `run` toasts a failure itself; `runAsync`
 * rejects (for ConfirmButton, which toasts it). Field violations land in
 * `errors`, keyed as the server names them.
 */
export function useCatalogMutation<TVariables, TResult>(
  mutate: (variables: TVariables) => Promise<TResult>,
  summary: (result: TResult, variables: TVariables) => string,
  onSuccess?: (result: TResult, variables: TVariables) => void,
) {
  const client = useQueryClient();
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const mutation = useMutation({
    mutationFn: mutate,
    onMutate: () => setErrors({}),
    onSuccess: async (result, variables) => {
      await client.invalidateQueries({ queryKey: CATALOG_KEY });
      toast.success(summary(result, variables));
      onSuccess?.(result, variables);
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const run = (variables: TVariables) =>
    mutation.mutate(variables, { onError: (error) => toast.error(errorMessage(error)) });
  return { run, runAsync: mutation.mutateAsync, pending: mutation.isPending, errors, setErrors };
}

/** "1.3" → "+30%"; "" when the ratio is not a positive number. */
export function markupPercent(ratio: string): string {
  const value = Number(ratio);
  if (!ratio.trim() || !Number.isFinite(value) || value <= 0) return "";
  const percent = Math.round((value - 1) * 10000) / 100;
  return `${percent >= 0 ? "+" : ""}${percent}%`;
}

/** A sort-order input as the API takes it: a whole number, 0 … 2^31−1. */
export function sortOrderValue(text: string): number {
  return Math.min(2_147_483_647, Math.max(0, Math.trunc(Number(text) || 0)));
}

/** The server's rule for markup_ratio: greater than 0, at most 100, at most 4 decimals. */
export function validMarkup(ratio: string): boolean {
  const text = ratio.trim();
  if (!/^\d{1,3}(\.\d{1,4})?$/.test(text)) return false;
  const value = Number(text);
  return value > 0 && value <= 100;
}
