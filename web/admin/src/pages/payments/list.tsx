import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input, Label, Select } from "@rustbill/ui/input";
import { DataTable, type Column } from "@/components/data-table";
import { PageHeader, StatusBadge } from "@/components/page";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { useListState } from "@/lib/list";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { CustomerLink, CustomerSelect } from "./customer";
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
  const { t, i18n } = useTranslation("payments");
  const list = useListState(FILTERS);
  const gateways = useGateways();
  const gatewayName = useGatewayName();
  const [creating, setCreating] = React.useState(false);
  const payments = useQuery({
    queryKey: ["payments", "list", list.page, list.pageSize, list.filters],
    queryFn: () =>
      api.payments.listPayments({
        pagination: list.pageRequest,
        status: list.filters.status || undefined,
        gatewayInterfaceId: list.filters.gateway || undefined,
        orderId: list.filters.order || undefined,
        invoiceId: list.filters.invoice || undefined,
        customerId: list.filters.customer || undefined,
      }),
    placeholderData: keepPreviousData,
  });

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
    {
      key: "created",
      header: t("field.createdAt"),
      className: "whitespace-nowrap",
      cell: (payment) => formatDateTime(payment.createdAt, i18n.language),
    },
    {
      key: "paid",
      header: t("field.paidAt"),
      className: "whitespace-nowrap",
      cell: (payment) => formatDateTime(payment.paidAt, i18n.language),
    },
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
      <div className="flex flex-wrap items-end gap-3">
        <div className="grid gap-1.5">
          <Label htmlFor="payment-filter-status">{t("field.status")}</Label>
          <Select
            id="payment-filter-status"
            className="w-40"
            value={list.filters.status}
            onChange={(event) => list.setFilter("status", event.target.value)}
          >
            <option value="">{t("all", { ns: "common" })}</option>
            {PAYMENT_STATUSES.map((status) => (
              <option key={status} value={status}>
                {t(status, { ns: "status" })}
              </option>
            ))}
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="payment-filter-gateway">{t("field.gateway")}</Label>
          <Select
            id="payment-filter-gateway"
            className="w-48"
            value={list.filters.gateway}
            onChange={(event) => list.setFilter("gateway", event.target.value)}
          >
            <option value="">{t("all", { ns: "common" })}</option>
            <option value={BALANCE_GATEWAY}>{t("gateway.balance")}</option>
            {(gateways.data ?? []).map((gateway) => (
              <option key={gateway.id} value={gateway.id}>
                {gateway.name}
              </option>
            ))}
          </Select>
        </div>
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
          onReset={() => list.setFilters({ status: "", gateway: "", order: "", invoice: "", customer: "" })}
        />
      </div>
      <DataTable
        columns={columns}
        rows={payments.data?.payments}
        rowKey={(payment) => payment.id}
        meta={payments.data?.meta}
        loading={payments.isPending}
        error={payments.error}
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
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
      <div className="grid gap-1.5">
        <Label htmlFor="payment-filter-order">{t("filter.order")}</Label>
        <Input id="payment-filter-order" name="order" className="w-72" defaultValue={order} placeholder={t("filter.idPlaceholder")} />
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor="payment-filter-invoice">{t("filter.invoice")}</Label>
        <Input
          id="payment-filter-invoice"
          name="invoice"
          className="w-72"
          defaultValue={invoice}
          placeholder={t("filter.idPlaceholder")}
        />
      </div>
      <Button type="submit" variant="secondary">
        {t("action.search", { ns: "common" })}
      </Button>
      <Button type="button" variant="ghost" onClick={onReset}>
        {t("action.reset", { ns: "common" })}
      </Button>
    </form>
  );
}
