import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { CalendarRange, Play, Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Label, Select } from "@rustbill/ui/input";
import { DataTable, type Column } from "@/components/data-table";
import { PageHeader, StatusBadge } from "@/components/page";
import type { InvoiceInfo } from "@/gen/rustbill/billing/billing_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { useListState } from "@/lib/list";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { CustomerLink, CustomerSelect } from "@/pages/payments/customer";
import { GenerateInvoicesDialog, RunBillingDialog } from "./billing-run";
import { INVOICE_STATUSES, InvoiceKind } from "./shared";

const FILTERS = ["status", "customer"] as const;

export function InvoiceList() {
  const { t, i18n } = useTranslation("invoices");
  const isAdmin = useIsAdmin();
  const list = useListState(FILTERS);
  const [dialog, setDialog] = React.useState<"generate" | "run" | null>(null);
  const invoices = useQuery({
    queryKey: ["invoices", "list", list.page, list.pageSize, list.filters],
    queryFn: () =>
      api.billing.listInvoices({
        pagination: list.pageRequest,
        status: list.filters.status || undefined,
        customerId: list.filters.customer || undefined,
      }),
    placeholderData: keepPreviousData,
  });

  const columns: Column<InvoiceInfo>[] = [
    {
      key: "number",
      header: t("field.number"),
      cell: (invoice) => (
        <Link to={`/invoices/${invoice.id}`} className="whitespace-nowrap text-primary hover:underline">
          {invoice.invoiceNumber || t("draftNumber")}
        </Link>
      ),
    },
    { key: "customer", header: t("field.customer"), cell: (invoice) => <CustomerLink id={invoice.customerId} /> },
    { key: "kind", header: t("field.kind"), cell: (invoice) => <InvoiceKind kind={invoice.kind} /> },
    {
      key: "period",
      header: t("field.period"),
      className: "whitespace-nowrap",
      cell: (invoice) => `${invoice.billingPeriodStart} – ${invoice.billingPeriodEnd}`,
    },
    {
      key: "total",
      header: t("field.total"),
      className: "whitespace-nowrap text-right",
      cell: (invoice) => formatMoney(invoice.totalAmount, invoice.currency),
    },
    { key: "status", header: t("field.status"), cell: (invoice) => <StatusBadge status={invoice.status} /> },
    { key: "due", header: t("field.dueDate"), className: "whitespace-nowrap", cell: (invoice) => invoice.dueDate },
    {
      key: "issued",
      header: t("field.issuedAt"),
      className: "whitespace-nowrap",
      cell: (invoice) => formatDateTime(invoice.issuedAt, i18n.language),
    },
    {
      key: "paid",
      header: t("field.paidAt"),
      className: "whitespace-nowrap",
      cell: (invoice) => formatDateTime(invoice.paidAt, i18n.language),
    },
  ];

  return (
    <div className="grid gap-4">
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          isAdmin ? (
            <>
              <Button variant="outline" onClick={() => setDialog("generate")}>
                <CalendarRange />
                {t("generate.button")}
              </Button>
              <Button variant="outline" onClick={() => setDialog("run")}>
                <Play />
                {t("run.button")}
              </Button>
              <Button asChild>
                <Link to="/invoices/new">
                  <Plus />
                  {t("create.button")}
                </Link>
              </Button>
            </>
          ) : null
        }
      />
      <div className="flex flex-wrap items-end gap-3">
        <div className="grid gap-1.5">
          <Label htmlFor="invoice-filter-status">{t("field.status")}</Label>
          <Select
            id="invoice-filter-status"
            className="w-40"
            value={list.filters.status}
            onChange={(event) => list.setFilter("status", event.target.value)}
          >
            <option value="">{t("all", { ns: "common" })}</option>
            {INVOICE_STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(status, { ns: "status" })}
              </option>
            ))}
          </Select>
        </div>
        <div className="min-w-80">
          <CustomerSelect
            id="invoice-filter-customer"
            label={t("field.customer")}
            value={list.filters.customer}
            onChange={(customer) => list.setFilter("customer", customer)}
            emptyLabel={t("all", { ns: "common" })}
          />
        </div>
        {list.filters.status || list.filters.customer ? (
          <Button variant="ghost" onClick={() => list.setFilters({ status: "", customer: "" })}>
            {t("action.reset", { ns: "common" })}
          </Button>
        ) : null}
      </div>
      <DataTable
        columns={columns}
        rows={invoices.data?.invoices}
        rowKey={(invoice) => invoice.id}
        meta={invoices.data?.meta}
        loading={invoices.isPending}
        error={invoices.error}
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
      />
      <GenerateInvoicesDialog open={dialog === "generate"} onOpenChange={(open) => setDialog(open ? "generate" : null)} />
      <RunBillingDialog open={dialog === "run"} onOpenChange={(open) => setDialog(open ? "run" : null)} />
    </div>
  );
}
