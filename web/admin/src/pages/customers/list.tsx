// /customers: the customer list with its filters, and "New customer".
import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { toast } from "sonner";
import { Plus } from "lucide-react";
import { DataTable, type Column } from "@/components/data-table";
import { Field, useApiMutation } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Select } from "@rustbill/ui/input";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import { api, errorMessage } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { CustomerFields, EMPTY_CUSTOMER, type CustomerValues } from "./customer-form";
import { SearchBox } from "./shared";

const FILTERS = ["search", "status"] as const;

export default function CustomerListPage() {
  const { t, i18n } = useTranslation("customers");
  const navigate = useNavigate();
  const list = useListState(FILTERS);
  const { search, status } = list.filters;
  const query = useQuery({
    queryKey: ["customers", "list", list.page, list.pageSize, list.filters],
    queryFn: () =>
      api.customers.listCustomers({
        pagination: list.pageRequest,
        search: search || undefined,
        isActive: status === "active" ? true : status === "inactive" ? false : undefined,
      }),
    placeholderData: keepPreviousData,
  });

  const columns: Column<CustomerInfo>[] = [
    {
      key: "name",
      header: t("field.name"),
      cell: (customer) => (
        <div className="grid">
          <Link className="font-medium text-primary hover:underline" to={`/customers/${customer.id}`} onClick={(event) => event.stopPropagation()}>
            {customer.name}
          </Link>
          {customer.company ? <span className="text-xs text-muted-foreground">{customer.company}</span> : null}
        </div>
      ),
    },
    { key: "contact", header: t("field.contactPerson"), cell: (customer) => customer.contactPerson || "—" },
    {
      key: "email",
      header: t("field.email"),
      cell: (customer) => (
        <div className="grid text-xs">
          <span>{customer.email || "—"}</span>
          {customer.phone ? <span className="text-muted-foreground">{customer.phone}</span> : null}
        </div>
      ),
    },
    { key: "balance", header: t("field.balance"), className: "text-right", cell: (customer) => <span className="font-mono tabular-nums">{formatMoney(customer.balance)}</span> },
    {
      key: "credit",
      header: t("field.creditLimit"),
      className: "text-right",
      cell: (customer) => <span className="font-mono tabular-nums">{formatMoney(customer.creditLimit)}</span>,
    },
    { key: "status", header: t("field.status"), cell: (customer) => <StatusBadge status={customer.isActive ? "active" : "inactive"} /> },
    {
      key: "api",
      header: t("field.apiAccess"),
      cell: (customer) => <Badge tone={customer.canCreateApiKeys ? "blue" : "neutral"}>{customer.canCreateApiKeys ? t("apiAllowed") : t("apiNotAllowed")}</Badge>,
    },
    { key: "created", header: t("field.createdAt"), cell: (customer) => formatDateTime(customer.createdAt, i18n.language) },
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} actions={<CreateCustomerDialog />} />
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <SearchBox
          id="customer-search"
          label={t("filter.search")}
          placeholder={t("filter.searchPlaceholder")}
          value={search}
          onSearch={(value) => list.setFilter("search", value)}
        />
        <Field label={t("filter.status")} htmlFor="customer-status-filter">
          <Select id="customer-status-filter" className="w-40" value={status} onChange={(event) => list.setFilter("status", event.target.value)}>
            <option value="">{t("all", { ns: "common" })}</option>
            <option value="active">{t("filter.active")}</option>
            <option value="inactive">{t("filter.inactive")}</option>
          </Select>
        </Field>
        {search || status ? (
          <Button variant="ghost" onClick={() => list.setFilters({ search: "", status: "" })}>
            {t("action.reset", { ns: "common" })}
          </Button>
        ) : null}
      </div>
      <DataTable
        columns={columns}
        rows={query.data?.customers}
        rowKey={(customer) => customer.id}
        meta={query.data?.meta}
        loading={query.isPending}
        error={query.error}
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
        onRowClick={(customer) => navigate(`/customers/${customer.id}`)}
      />
    </div>
  );
}

/** "New customer": every CreateCustomer field, then status and API access. */
function CreateCustomerDialog() {
  const { t } = useTranslation("customers");
  const navigate = useNavigate();
  const [open, setOpen] = React.useState(false);
  const [values, setValues] = React.useState<CustomerValues>(EMPTY_CUSTOMER);
  const create = useApiMutation(
    async (input: CustomerValues) => {
      const created = (
        await api.customers.createCustomer({
          name: input.name.trim(),
          contactPerson: input.contactPerson.trim(),
          email: input.email.trim(),
          phone: input.phone.trim(),
          company: input.company.trim(),
          notes: input.notes.trim(),
          creditLimit: input.creditLimit.trim(),
        })
      ).customer!;
      // CreateCustomer has no status or API-access fields: set them after.
      if (input.isActive !== created.isActive || input.canCreateApiKeys !== created.canCreateApiKeys) {
        try {
          await api.customers.updateCustomer({ id: created.id, isActive: input.isActive, canCreateApiKeys: input.canCreateApiKeys });
        } catch (error) {
          toast.error(t("flagsFailed", { error: errorMessage(error) }));
        }
      }
      return created;
    },
    {
      invalidate: [["customers"]],
      successMessage: t("created"),
      onSuccess: (customer) => {
        setOpen(false);
        navigate(`/customers/${customer.id}`);
      },
    },
  );
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button
        onClick={() => {
          setValues(EMPTY_CUSTOMER);
          create.setErrors({});
          setOpen(true);
        }}
      >
        <Plus />
        {t("new")}
      </Button>
      <DialogContent title={t("new")} className="max-w-2xl">
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate(values);
          }}
        >
          <CustomerFields values={values} onChange={setValues} errors={create.errors} withStatus />
          <DialogFooter>
            <Button variant="outline" onClick={() => setOpen(false)}>
              {t("action.cancel", { ns: "common" })}
            </Button>
            <Button type="submit" disabled={create.isPending}>
              {t("createSubmit")}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
