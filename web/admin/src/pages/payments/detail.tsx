import * as React from "react";
import { Link, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, BadgeCheck, RefreshCw, Undo2 } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { useApiMutation } from "@/components/form";
import { Details, PageHeader, QueryError } from "@/components/page";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { ActivityLog } from "./activity";
import { ConfirmRefundDialog, ConfirmTransferDialog } from "./bank-transfer";
import { CustomerLink } from "./customer";
import { BALANCE_GATEWAY, BANK_TRANSFER_PLUGIN, useGatewayName, useGateways } from "./gateways";
import { PaymentPurpose, PaymentStatus } from "./list";
import { fromCents, refundableCents } from "./money";
import { RefundDialog } from "./refund";

type Open = "refund" | "transfer" | "bankRefund" | null;

export function PaymentDetail() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation("payments");
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  const gateways = useGateways();
  const gatewayName = useGatewayName();
  const [open, setOpen] = React.useState<Open>(null);
  const detailKey = ["payments", "detail", id];
  const query = useQuery({
    queryKey: detailKey,
    queryFn: async () => (await api.payments.getPayment({ id })).payment ?? null,
  });
  const sync = useApiMutation(async () => (await api.payments.queryPaymentStatus({ paymentId: id })).payment, {
    invalidate: [["payments", "list"], ["payments", "activity"], ["orders"], ["invoices"]],
    successMessage: t("detail.synced"),
    onSuccess: (payment) => {
      if (payment) client.setQueryData(detailKey, payment);
    },
  });

  if (query.error) return <QueryError error={query.error} />;
  if (query.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  const payment = query.data;
  if (!payment) return <QueryError error={new Error(t("detail.missing"))} />;

  const gateway = gateways.data?.find((row) => row.id === payment.gatewayInterfaceId);
  const bankTransfer = gateway?.pluginId === BANK_TRANSFER_PLUGIN;
  const left = refundableCents(payment.amount, payment.refundedAmount);
  const refundable = payment.status === "success" && left !== null && left > 0n;
  const refunded = Number(payment.refundedAmount) > 0;
  const money = (amount: string) => formatMoney(amount, payment.currency);

  return (
    <div className="grid gap-4">
      <Link to="/payments" className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" />
        {t("detail.back")}
      </Link>
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-3">
            {t("detail.title", { amount: money(payment.amount) })}
            <PaymentStatus payment={payment} />
          </span>
        }
        description={<span className="font-mono text-xs">{payment.id}</span>}
        actions={
          <>
            <Button variant="outline" disabled={sync.isPending} onClick={() => sync.mutate(undefined)}>
              <RefreshCw />
              {t("detail.queryStatus")}
            </Button>
            {isAdmin && bankTransfer && payment.status === "pending" ? (
              <Button onClick={() => setOpen("transfer")}>
                <BadgeCheck />
                {t("bank.confirmButton")}
              </Button>
            ) : null}
            {isAdmin && refundable ? (
              <Button variant="destructive" onClick={() => setOpen("refund")}>
                <Undo2 />
                {t("refund.button")}
              </Button>
            ) : null}
            {isAdmin && bankTransfer && refunded ? (
              <Button variant="outline" onClick={() => setOpen("bankRefund")}>
                {t("bank.refundButton")}
              </Button>
            ) : null}
          </>
        }
      />
      {payment.status === "pending" && bankTransfer ? (
        <p className="rounded-md border bg-muted/40 p-3 text-sm">
          {t("bank.pendingNotice", { reference: payment.gatewayPaymentId || payment.id, amount: money(payment.amount) })}
        </p>
      ) : null}
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>{t("detail.payment")}</CardTitle>
          </CardHeader>
          <CardContent>
            <Details
              items={[
                [t("field.status"), <PaymentStatus payment={payment} />],
                [t("field.customer"), <CustomerLink id={payment.customerId} />],
                [t("field.purpose"), <PaymentPurpose payment={payment} />],
                [
                  t("field.order"),
                  payment.orderId ? (
                    <Link to={`/orders/${payment.orderId}`} className="font-mono text-xs text-primary hover:underline">
                      {payment.orderId}
                    </Link>
                  ) : (
                    ""
                  ),
                ],
                [
                  t("field.invoice"),
                  payment.invoiceId ? (
                    <Link to={`/invoices/${payment.invoiceId}`} className="font-mono text-xs text-primary hover:underline">
                      {payment.invoiceId}
                    </Link>
                  ) : (
                    ""
                  ),
                ],
                [t("field.createdAt"), formatDateTime(payment.createdAt, i18n.language)],
                [t("field.paidAt"), formatDateTime(payment.paidAt, i18n.language)],
                [t("field.updatedAt"), formatDateTime(payment.updatedAt, i18n.language)],
              ]}
            />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>{t("detail.money")}</CardTitle>
          </CardHeader>
          <CardContent>
            <Details
              items={[
                [t("field.amount"), money(payment.amount)],
                [t("field.refundedAmount"), money(payment.refundedAmount || "0.00")],
                [t("field.refundable"), left === null ? "" : money(fromCents(left))],
                [
                  t("field.gateway"),
                  payment.gatewayInterfaceId === BALANCE_GATEWAY || !gateway ? (
                    gatewayName(payment.gatewayInterfaceId)
                  ) : (
                    <span>
                      {gateway.name}{" "}
                      <span className="text-xs text-muted-foreground">
                        ({gateway.pluginId}
                        {gateway.enabled ? "" : `, ${t("gateway.disabled")}`})
                      </span>
                    </span>
                  ),
                ],
                [t("field.gatewayPaymentId"), <span className="font-mono text-xs">{payment.gatewayPaymentId}</span>],
                [t("field.gatewayTxId"), <span className="font-mono text-xs">{payment.gatewayTxId}</span>],
              ]}
            />
          </CardContent>
        </Card>
      </div>
      <ActivityLog area="payments" targetType="payment" targetId={payment.id} />
      {open === "refund" ? (
        <RefundDialog payment={payment} bankTransfer={bankTransfer} open onOpenChange={(value) => setOpen(value ? "refund" : null)} />
      ) : null}
      {open === "transfer" ? (
        <ConfirmTransferDialog payment={payment} open onOpenChange={(value) => setOpen(value ? "transfer" : null)} />
      ) : null}
      {open === "bankRefund" ? (
        <ConfirmRefundDialog payment={payment} open onOpenChange={(value) => setOpen(value ? "bankRefund" : null)} />
      ) : null}
    </div>
  );
}
