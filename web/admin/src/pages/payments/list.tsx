import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input } from "@rustbill/ui/input";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterBar, FilterSelect, StatusFilter } from "@/components/filters";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { CustomerLink } from "@/components/refs";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { useListQuery, useListState } from "@/lib/list";
import { formatMoney } from "@rustbill/ui/utils";
import { CustomerSelect } from "./customer";
import { BALANCE_GATEWAY, useGatewayName, useGateways } from "./gateways";
import { CreatePaymentDialog } from "./create-payment";

export const PAYMENT_STATUSES = ["pending", "success", "failed", "refunded"] as const;
const FILTERS = ["status", "customer", "gateway", "order", "invoice"] as const;

/** What a payment pays for, linked. */
export function PaymentPurpose({ payment }: { payment: PaymentRecord }) {
  const { t } = useTranslation("payments");
  if (payment.orderId) {
    return (
      <Link to={`/orders/${payment.orderId}`} className="text-primary hover:underline">
        {t("purpose.order")}
      </Link>
    );
  }
  if (payment.invoiceId) {
    return (
      <Link to={`/invoices/${payment.invoiceId}`} className="text-primary hover:underline">
        {t("purpose.invoice")}
      </Link>
    );
  }
  return <>{t(`purpose.${payment.purpose}`, { defaultValue: payment.purpose })}</>;
}

/** The status, and "partly refunded" when some money went back. */
export function PaymentStatus({ payment }: { payment: PaymentRecord }) {
  const partly = payment.status === "success" && payment.refundedAmount !== "" && Number(payment.refundedAmount) > 0;
  return (
    <span className="inline-flex flex-wrap gap-1">
      <StatusBadge status={payment.status} />
      {partly ? <StatusBadge status="partially_refunded" /> : null}
    </span>
  );
}

export function PaymentList() {
  const { t } = useTranslation("payments");
  const list = useListState(FILTERS);
  const gateways = useGateways();
  const gatewayName = useGatewayName();
  const [creating, setCreating] = React.useState(false);
  const payments = useListQuery(["payments"], list, (pagination) =>
    api.payments.listPayments({
      pagination,
      status: list.filters.status || undefined,
      gatewayInterfaceId: list.filters.gateway || undefined,
      orderId: list.filters.order || undefined,
      invoiceId: list.filters.invoice || undefined,
      customerId: list.filters.customer || undefined,
    }),
  );

  const columns: Column<PaymentRecord>[] = [
    {
      key: "id",
      header: t("field.id"),
      cell: (payment) => (
        <Link to={`/payments/${payment.id}`} className="font-mono text-xs text-primary hover:underline">
          {payment.id}
        </Link>
      ),
    },
    { key: "customer", header: t("field.customer"), cell: (payment) => <CustomerLink id={payment.customerId} /> },
    { key: "purpose", header: t("field.purpose"), cell: (payment) => <PaymentPurpose payment={payment} /> },
    {
      key: "amount",
      header: t("field.amount"),
      className: "text-right",
      cell: (payment) => (
        <div className="whitespace-nowrap">
          {formatMoney(payment.amount, payment.currency)}
          {Number(payment.refundedAmount) > 0 ? (
            <div className="text-xs text-muted-foreground">
              {t("field.refundedShort", { amount: formatMoney(payment.refundedAmount, payment.currency) })}
            </div>
          ) : null}
        </div>
      ),
    },
    { key: "gateway", header: t("field.gateway"), cell: (payment) => gatewayName(payment.gatewayInterfaceId) },
    { key: "status", header: t("field.status"), cell: (payment) => <PaymentStatus payment={payment} /> },
    timeColumn("created", t("field.createdAt"), (payment) => payment.createdAt),
    timeColumn("paid", t("field.paidAt"), (payment) => payment.paidAt),
  ];

  return (
    <div className="grid gap-4">
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          <Button onClick={() => setCreating(true)}>
            <Plus />
            {t("create.button")}
          </Button>
        }
      />
      <FilterBar>
        <StatusFilter
          id="payment-filter-status"
          className="w-40"
          label={t("field.status")}
          value={list.filters.status}
          onChange={(value) => list.setFilter("status", value)}
          statuses={PAYMENT_STATUSES}
        />
        <FilterSelect
          id="payment-filter-gateway"
          className="w-48"
          label={t("field.gateway")}
          value={list.filters.gateway}
          onChange={(value) => list.setFilter("gateway", value)}
          options={[[BALANCE_GATEWAY, t("gateway.balance")], ...(gateways.data ?? []).map((gateway) => [gateway.id, gateway.name] as const)]}
        />
        <CustomerSelect
          id="payment-filter-customer"
          label={t("field.customer")}
          value={list.filters.customer}
          onChange={(customer) => list.setFilter("customer", customer)}
          emptyLabel={t("all", { ns: "common" })}
        />
        <IdFilters
          key={`${list.filters.order}|${list.filters.invoice}`}
          order={list.filters.order}
          invoice={list.filters.invoice}
          onApply={(order, invoice) => list.setFilters({ order, invoice })}
          onReset={list.clearFilters}
        />
      </FilterBar>
      <DataTable
        columns={columns}
        rows={payments.data?.payments}
        rowKey={(payment) => payment.id}
        meta={payments.data?.meta}
        loading={payments.isPending}
        error={payments.error}
        paging={list}
      />
      <CreatePaymentDialog open={creating} onOpenChange={setCreating} />
    </div>
  );
}

/** Order and invoice id filters, applied together with the Search button. */
function IdFilters({
  order,
  invoice,
  onApply,
  onReset,
}: {
  order: string;
  invoice: string;
  onApply: (order: string, invoice: string) => void;
  onReset: () => void;
}) {
  const { t } = useTranslation("payments");
  return (
    <form
      className="flex flex-wrap items-end gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        const data = new FormData(event.currentTarget);
        onApply(String(data.get("order") ?? "").trim(), String(data.get("invoice") ?? "").trim());
      }}
    >
      <Field label={t("filter.order")} htmlFor="payment-filter-order">
        <Input id="payment-filter-order" name="order" className="w-72" defaultValue={order} placeholder={t("filter.idPlaceholder")} />
      </Field>
      <Field label={t("filter.invoice")} htmlFor="payment-filter-invoice">
        <Input id="payment-filter-invoice" name="invoice" className="w-72" defaultValue={invoice} placeholder={t("filter.idPlaceholder")} />
      </Field>
      <Button type="submit" variant="secondary">
        {t("action.search", { ns: "common" })}
      </Button>
      <Button type="button" variant="ghost" onClick={onReset}>
        {t("action.reset", { ns: "common" })}
      </Button>
    </form>
  );
}
