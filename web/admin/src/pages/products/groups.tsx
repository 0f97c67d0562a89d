import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { Select } from "@rustbill/ui/input";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { Field } from "@/components/form";
import { PageHeader } from "@/components/page";
import type { ProductGroupInfo } from "@/gen/rustbill/product/product_group_pb";
import { api } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { EntryDialog } from "./entry-dialog";
import { CATALOG_KEY, CatalogNav, CategoryFilter, useAllCategories, useCatalogMutation } from "./shared";

export function GroupsPage() {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const list = useListState(["category"] as const);
  const categories = useAllCategories();
  const query = useListQuery([...CATALOG_KEY, "groups"], list, (pagination) =>
    api.groups.listProductGroups({
      pagination,
      categoryId: list.filters.category,
    }),
  );
  const remove = useCatalogMutation(
    (id: string) => api.groups.deleteProductGroup({ id }),
    () => t("group.deleted"),
  );
  const categoryName = (id: string) => categories.data?.find((category) => category.id === id)?.name ?? id;

  const columns: Column<ProductGroupInfo>[] = [
    { key: "name", header: t("field.name"), cell: (group) => <span className="font-medium">{group.name}</span> },
    {
      key: "category",
      header: t("field.category"),
      cell: (group) => (group.categoryId ? categoryName(group.categoryId) : t("group.noCategory")),
    },
    {
      key: "products",
      header: t("group.productCount"),
      cell: (group) => (
        <Link className="text-primary hover:underline" to={`/products?group=${group.id}`}>
          {group.productCount}
        </Link>
      ),
    },
    { key: "sort", header: t("field.sortOrder"), cell: (group) => group.sortOrder },
    {
      key: "description",
      header: t("field.description"),
      className: "max-w-xs",
      cell: (group) => <span className="line-clamp-2 text-muted-foreground">{group.description}</span>,
    },
    timeColumn("updated", t("field.updatedAt"), (group) => group.updatedAt),
    {
      key: "actions",
      header: "",
      className: "text-right",
      cell: (group) => (
        <div className="flex justify-end gap-2">
          <GroupDialog group={group} />
          <ConfirmButton
            size="sm"
            title={t("group.deleteTitle", { name: group.name })}
            description={t("group.deleteDescription", { count: group.productCount })}
            confirmLabel={tc("action.delete")}
            onConfirm={() => remove.runAsync(group.id)}
          >
            {tc("action.delete")}
          </ConfirmButton>
        </div>
      ),
    },
  ];

  return (
    <div>
      <PageHeader title={t("group.title")} description={t("group.description")} actions={<GroupDialog />} />
      <CatalogNav />
      <div className="grid gap-4">
        <div className="w-64">
          <CategoryFilter value={list.filters.category} onChange={(value) => list.setFilter("category", value)} />
        </div>
        <DataTable
          columns={columns}
          rows={query.data?.groups}
          rowKey={(group) => group.id}
          meta={query.data?.meta}
          loading={query.isFetching}
          error={query.error}
          paging={list}
        />
      </div>
    </div>
  );
}

/** Create (no `group`) or edit a product group, with its category, in a dialog. */
function GroupDialog({ group }: { group?: ProductGroupInfo }) {
  const { t } = useTranslation("products");
  const categories = useAllCategories();
  const [categoryId, setCategoryId] = React.useState("");
  return (
    <EntryDialog
      kind="group"
      entry={group}
      onOpen={() => setCategoryId(group?.categoryId ?? "")}
      save={(fields) =>
        group
          ? api.groups.updateProductGroup({ id: group.id, ...fields, categoryId })
          : api.groups.createProductGroup({ ...fields, categoryId })
      }
      extra={(prefix, errors) => (
        <Field label={t("field.category")} htmlFor={`${prefix}-category`} error={errors.category_id}>
          <Select id={`${prefix}-category`} value={categoryId} onChange={(e) => setCategoryId(e.target.value)}>
            <option value="">{t("group.noCategory")}</option>
            {(categories.data ?? []).map((category) => (
              <option key={category.id} value={category.id}>
                {category.name}
              </option>
            ))}
          </Select>
        </Field>
      )}
    />
  );
}
