import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { PageHeader } from "@/components/page";
import type { ProductCategoryInfo } from "@/gen/rustbill/product/product_category_pb";
import { api } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { EntryDialog } from "./entry-dialog";
import { CATALOG_KEY, CatalogNav, useCatalogMutation } from "./shared";

export function CategoriesPage() {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const list = useListState([] as const);
  const query = useListQuery([...CATALOG_KEY, "categories"], list, (pagination) => api.categories.listProductCategories({ pagination }));
  const remove = useCatalogMutation(
    (id: string) => api.categories.deleteProductCategory({ id }),
    () => t("category.deleted"),
  );

  const columns: Column<ProductCategoryInfo>[] = [
    { key: "name", header: t("field.name"), cell: (category) => <span className="font-medium">{category.name}</span> },
    {
      key: "groups",
      header: t("category.groupCount"),
      cell: (category) => (
        <Link className="text-primary hover:underline" to={`/products/groups?category=${category.id}`}>
          {category.groupCount}
        </Link>
      ),
    },
    {
      key: "products",
      header: t("nav.products"),
      cell: (category) => (
        <Link className="text-primary hover:underline" to={`/products?category=${category.id}`}>
          {t("category.viewProducts")}
        </Link>
      ),
    },
    { key: "sort", header: t("field.sortOrder"), cell: (category) => category.sortOrder },
    {
      key: "description",
      header: t("field.description"),
      className: "max-w-xs",
      cell: (category) => <span className="line-clamp-2 text-muted-foreground">{category.description}</span>,
    },
    timeColumn("updated", t("field.updatedAt"), (category) => category.updatedAt),
    {
      key: "actions",
      header: "",
      className: "text-right",
      cell: (category) => (
        <div className="flex justify-end gap-2">
          <CategoryDialog category={category} />
          <ConfirmButton
            size="sm"
            title={t("category.deleteTitle", { name: category.name })}
            description={t("category.deleteDescription")}
            confirmLabel={tc("action.delete")}
            onConfirm={() => remove.runAsync(category.id)}
          >
            {tc("action.delete")}
          </ConfirmButton>
        </div>
      ),
    },
  ];

  return (
    <div>
      <PageHeader title={t("category.title")} description={t("category.description")} actions={<CategoryDialog />} />
      <CatalogNav />
      <DataTable
        columns={columns}
        rows={query.data?.categories}
        rowKey={(category) => category.id}
        meta={query.data?.meta}
        loading={query.isFetching}
        error={query.error}
        paging={list}
      />
    </div>
  );
}

/** Create (no `category`) or edit a category in a dialog. */
function CategoryDialog({ category }: { category?: ProductCategoryInfo }) {
  return (
    <EntryDialog
      kind="category"
      entry={category}
      save={(fields) =>
        category ? api.categories.updateProductCategory({ id: category.id, ...fields }) : api.categories.createProductCategory(fields)
      }
    />
  );
}
