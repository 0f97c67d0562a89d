import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input, Textarea } from "@rustbill/ui/input";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { DataTable, type Column } from "@/components/data-table";
import { ConfirmButton } from "@/components/confirm";
import { Field } from "@/components/form";
import { PageHeader } from "@/components/page";
import type { ProductCategoryInfo } from "@/gen/rustbill/product/product_category_pb";
import { api } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { CATALOG_KEY, CatalogNav, sortOrderValue, useCatalogMutation } from "./shared";

export function CategoriesPage() {
  const { t, i18n } = useTranslation("products");
  const { t: tc } = useTranslation();
  const list = useListState([] as const);
  const query = useQuery({
    queryKey: [...CATALOG_KEY, "categories", "list", list.page, list.pageSize],
    queryFn: () => api.categories.listProductCategories({ pagination: list.pageRequest }),
    placeholderData: keepPreviousData,
  });
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
    { key: "updated", header: t("field.updatedAt"), cell: (category) => formatDateTime(category.updatedAt, i18n.language) },
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
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
      />
    </div>
  );
}

/** Create (no `category`) or edit a category in a dialog. */
function CategoryDialog({ category }: { category?: ProductCategoryInfo }) {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const [open, setOpen] = React.useState(false);
  const [name, setName] = React.useState("");
  const [description, setDescription] = React.useState("");
  const [sortOrder, setSortOrder] = React.useState("0");
  const prefix = category ? `category-${category.id}` : "category-new";

  const save = useCatalogMutation(
    async () => {
      // UpdateProductCategory writes every field: the full category is sent.
      const fields = { name, description, sortOrder: sortOrderValue(sortOrder) };
      if (category) await api.categories.updateProductCategory({ id: category.id, ...fields });
      else await api.categories.createProductCategory(fields);
    },
    () => (category ? t("category.updated") : t("category.created")),
    () => setOpen(false),
  );
  const openDialog = () => {
    setName(category?.name ?? "");
    setDescription(category?.description ?? "");
    setSortOrder(String(category?.sortOrder ?? 0));
    save.setErrors({});
    setOpen(true);
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      {category ? (
        <Button size="sm" variant="outline" onClick={openDialog}>
          {tc("action.edit")}
        </Button>
      ) : (
        <Button onClick={openDialog}>
          <Plus />
          {t("category.new")}
        </Button>
      )}
      <DialogContent title={category ? t("category.editTitle", { name: category.name }) : t("category.new")}>
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            save.run(undefined);
          }}
        >
          <Field label={t("field.name")} htmlFor={`${prefix}-name`} error={save.errors.name}>
            <Input id={`${prefix}-name`} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} required />
          </Field>
          <Field label={t("field.sortOrder")} htmlFor={`${prefix}-sort`} error={save.errors.sort_order} hint={t("form.sortHint")}>
            <Input id={`${prefix}-sort`} type="number" min={0} step={1} value={sortOrder} onChange={(e) => setSortOrder(e.target.value)} />
          </Field>
          <Field label={t("field.description")} htmlFor={`${prefix}-description`} error={save.errors.description}>
            <Textarea id={`${prefix}-description`} value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <DialogFooter>
            <Button type="submit" disabled={save.pending}>
              {tc("action.save")}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
