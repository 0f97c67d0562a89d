// /customers: the customer list with its filters, and "New customer".
import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Plus } from "lucide-react";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { DialogActions } from "@/components/dialog";
import { FilterBar, FilterSelect, SearchBox } from "@/components/filters";
import { Form, useApiMutation } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import { api, errorMessage } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { formatMoney } from "@rustbill/ui/utils";
import { CustomerFields, EMPTY_CUSTOMER, type CustomerValues } from "./customer-form";

const FILTERS = ["search", "status"] as const;

export default function CustomerListPage() {
  const { t } = useTranslation("customers");
  const navigate = useNavigate();
  const list = useListState(FILTERS);
  const { search, status } = list.filters;
  const query = useListQuery(["customers"], list, (pagination) =>
    api.customers.listCustomers({
      pagination,
      search: search || undefined,
      isActive: status === "active" ? true : status === "inactive" ? false : undefined,
    }),
  );

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
    timeColumn("created", t("field.createdAt"), (customer) => customer.createdAt),
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("description")} actions={<CreateCustomerDialog />} />
      <FilterBar className="mb-4" onReset={list.filtered ? list.clearFilters : undefined}>
        <SearchBox
          id="customer-search"
          label={t("filter.search")}
          placeholder={t("filter.searchPlaceholder")}
          value={search}
          onSearch={(value) => list.setFilter("search", value)}
        />
        <FilterSelect
          id="customer-status-filter"
          className="w-40"
          label={t("filter.status")}
          value={status}
          onChange={(value) => list.setFilter("status", value)}
          options={[
            ["active", t("filter.active")],
            ["inactive", t("filter.inactive")],
          ]}
        />
      </FilterBar>
      <DataTable
        columns={columns}
        rows={query.data?.customers}
        rowKey={(customer) => customer.id}
        meta={query.data?.meta}
        loading={query.isPending}
        error={query.error}
        paging={list}
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
        <Form onSubmit={() => create.mutate(values)}>
          <CustomerFields values={values} onChange={setValues} errors={create.errors} withStatus />
          <DialogActions submit={t("createSubmit")} onCancel={() => setOpen(false)} disabled={create.isPending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
