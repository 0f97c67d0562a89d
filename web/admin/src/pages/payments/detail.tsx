import * as React from "react";
import { Link, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { BadgeCheck, RefreshCw, Undo2 } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { ActivityCard } from "@/components/activity";
import { useApiMutation } from "@/components/form";
import { BackLink, Details, LoadedRecord, PageHeader, QueryError, TitledCard } from "@/components/page";
import { CustomerLink, Mono } from "@/components/refs";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { fromCents } from "@/lib/money";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { usePaymentActionLabel } from "./activity";
import { ConfirmRefundDialog, ConfirmTransferDialog } from "./bank-transfer";
import { BALANCE_GATEWAY, BANK_TRANSFER_PLUGIN, useGatewayName, useGateways } from "./gateways";
import { PaymentPurpose, PaymentStatus } from "./list";
import { refundableCents } from "./money";
import { RefundDialog } from "./refund";

type Open = "refund" | "transfer" | "bankRefund" | null;

export function PaymentDetail() {
  const { id = "" } = useParams();
  const { t } = useTranslation("payments");
  const client = useQueryClient();
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

  return (
    <LoadedRecord query={query} notFound={<QueryError error={new Error(t("detail.missing"))} />}>
      {(payment) => <PaymentView payment={payment} onSync={() => sync.mutate(undefined)} syncing={sync.isPending} />}
    </LoadedRecord>
  );
}

function PaymentView({ payment, onSync, syncing }: { payment: PaymentRecord; onSync: () => void; syncing: boolean }) {
  const { t, i18n } = useTranslation("payments");
  const isAdmin = useIsAdmin();
  const gateways = useGateways();
  const gatewayName = useGatewayName();
  const actionLabel = usePaymentActionLabel();
  const [open, setOpen] = React.useState<Open>(null);
  const gateway = gateways.data?.find((row) => row.id === payment.gatewayInterfaceId);
  const bankTransfer = gateway?.pluginId === BANK_TRANSFER_PLUGIN;
  const left = refundableCents(payment.amount, payment.refundedAmount);
  const refundable = payment.status === "success" && left !== null && left > 0n;
  const refunded = Number(payment.refundedAmount) > 0;
  const money = (amount: string) => formatMoney(amount, payment.currency);

  return (
    <div className="grid gap-4">
      <BackLink to="/payments">{t("detail.back")}</BackLink>
      <PageHeader
        title={t("detail.title", { amount: money(payment.amount) })}
        badge={<PaymentStatus payment={payment} />}
        description={<Mono>{payment.id}</Mono>}
        actions={
          <>
            <Button variant="outline" disabled={syncing} onClick={onSync}>
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
        <TitledCard title={t("detail.payment")}>
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
        </TitledCard>
        <TitledCard title={t("detail.money")}>
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
        </TitledCard>
      </div>
      <ActivityCard area="payments" targetType="payment" targetId={payment.id} actionLabel={actionLabel} />
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
