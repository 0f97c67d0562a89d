import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { CalendarRange, Play, Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterBar, StatusFilter } from "@/components/filters";
import { PageHeader, StatusBadge } from "@/components/page";
import { CustomerLink } from "@/components/refs";
import type { InvoiceInfo } from "@/gen/rustbill/billing/billing_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { useListQuery, useListState } from "@/lib/list";
import { formatMoney } from "@rustbill/ui/utils";
import { CustomerSelect } from "@/pages/payments/customer";
import { GenerateInvoicesDialog, RunBillingDialog } from "./billing-run";
import { INVOICE_STATUSES, InvoiceKind } from "./shared";

const FILTERS = ["status", "customer"] as const;

export function InvoiceList() {
  const { t } = useTranslation("invoices");
  const isAdmin = useIsAdmin();
  const list = useListState(FILTERS);
  const [dialog, setDialog] = React.useState<"generate" | "run" | null>(null);
  const invoices = useListQuery(["invoices"], list, (pagination) =>
    api.billing.listInvoices({
      pagination,
      status: list.filters.status || undefined,
      customerId: list.filters.customer || undefined,
    }),
  );

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
    timeColumn("issued", t("field.issuedAt"), (invoice) => invoice.issuedAt),
    timeColumn("paid", t("field.paidAt"), (invoice) => invoice.paidAt),
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
      <FilterBar onReset={list.filtered ? list.clearFilters : undefined}>
        <StatusFilter
          id="invoice-filter-status"
          className="w-40"
          label={t("field.status")}
          value={list.filters.status}
          onChange={(value) => list.setFilter("status", value)}
          statuses={INVOICE_STATUSES}
        />
        <div className="min-w-80">
          <CustomerSelect
            id="invoice-filter-customer"
            label={t("field.customer")}
            value={list.filters.customer}
            onChange={(customer) => list.setFilter("customer", customer)}
            emptyLabel={t("all", { ns: "common" })}
          />
        </div>
      </FilterBar>
      <DataTable
        columns={columns}
        rows={invoices.data?.invoices}
        rowKey={(invoice) => invoice.id}
        meta={invoices.data?.meta}
        loading={invoices.isPending}
        error={invoices.error}
        paging={list}
      />
      <GenerateInvoicesDialog open={dialog === "generate"} onOpenChange={(open) => setDialog(open ? "generate" : null)} />
      <RunBillingDialog open={dialog === "run"} onOpenChange={(open) => setDialog(open ? "run" : null)} />
    </div>
  );
}
