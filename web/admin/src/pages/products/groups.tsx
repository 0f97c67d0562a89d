import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { DataTable, type Column } from "@/components/data-table";
import { ConfirmButton } from "@/components/confirm";
import { Field } from "@/components/form";
import { PageHeader } from "@/components/page";
import type { ProductGroupInfo } from "@/gen/rustbill/product/product_group_pb";
import { api } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { CATALOG_KEY, CatalogNav, sortOrderValue, useAllCategories, useCatalogMutation } from "./shared";

export function GroupsPage() {
  const { t, i18n } = useTranslation("products");
  const { t: tc } = useTranslation();
  const list = useListState(["category"] as const);
  const categories = useAllCategories();
  const query = useQuery({
    queryKey: [...CATALOG_KEY, "groups", "list", list.page, list.pageSize, list.filters],
    queryFn: () =>
      api.groups.listProductGroups({ pagination: list.pageRequest, categoryId: list.filters.category }),
    placeholderData: keepPreviousData,
  });
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
    { key: "updated", header: t("field.updatedAt"), cell: (group) => formatDateTime(group.updatedAt, i18n.language) },
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
          <Field label={t("field.category")} htmlFor="filter-category">
            <Select id="filter-category" value={list.filters.category} onChange={(e) => list.setFilter("category", e.target.value)}>
              <option value="">{tc("all")}</option>
              {(categories.data ?? []).map((category) => (
                <option key={category.id} value={category.id}>
                  {category.name}
                </option>
              ))}
            </Select>
          </Field>
        </div>
        <DataTable
          columns={columns}
          rows={query.data?.groups}
          rowKey={(group) => group.id}
          meta={query.data?.meta}
          loading={query.isFetching}
          error={query.error}
          onPage={list.setPage}
          onPageSize={list.setPageSize}
          pageSize={list.pageSize}
        />
      </div>
    </div>
  );
}

/** Create (no `group`) or edit a product group in a dialog. */
function GroupDialog({ group }: { group?: ProductGroupInfo }) {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const categories = useAllCategories();
  const [open, setOpen] = React.useState(false);
  const [name, setName] = React.useState("");
  const [description, setDescription] = React.useState("");
  const [sortOrder, setSortOrder] = React.useState("0");
  const [categoryId, setCategoryId] = React.useState("");
  const prefix = group ? `group-${group.id}` : "group-new";

  const save = useCatalogMutation(
    async () => {
      const fields = { name, description, sortOrder: sortOrderValue(sortOrder), categoryId };
      if (group) await api.groups.updateProductGroup({ id: group.id, ...fields });
      else await api.groups.createProductGroup(fields);
    },
    () => (group ? t("group.updated") : t("group.created")),
    () => setOpen(false),
  );
  const openDialog = () => {
    setName(group?.name ?? "");
    setDescription(group?.description ?? "");
    setSortOrder(String(group?.sortOrder ?? 0));
    setCategoryId(group?.categoryId ?? "");
    save.setErrors({});
    setOpen(true);
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      {group ? (
        <Button size="sm" variant="outline" onClick={openDialog}>
          {tc("action.edit")}
        </Button>
      ) : (
        <Button onClick={openDialog}>
          <Plus />
          {t("group.new")}
        </Button>
      )}
      <DialogContent title={group ? t("group.editTitle", { name: group.name }) : t("group.new")}>
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
          <Field label={t("field.category")} htmlFor={`${prefix}-category`} error={save.errors.category_id}>
            <Select id={`${prefix}-category`} value={categoryId} onChange={(e) => setCategoryId(e.target.value)}>
              <option value="">{t("group.noCategory")}</option>
              {(categories.data ?? []).map((category) => (
                <option key={category.id} value={category.id}>
                  {category.name}
                </option>
              ))}
            </Select>
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
