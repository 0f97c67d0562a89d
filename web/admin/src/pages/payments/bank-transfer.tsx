// Bank transfers (plugin gateway-banktransfer) are confirmed by an admin:
// the plugin's `confirm_receipt` action (CallPluginAction) records the
// money seen on the bank statement, then QueryPaymentStatus syncs the
// payment, which settles its order or invoice. Refunds through that gateway
// are transfers made by hand, confirmed with `confirm_refund`.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { toast } from "sonner";
import { Input } from "@rustbill/ui/input";
import { DialogActions, DialogDone, FormDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { Loading, QueryError } from "@/components/page";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api, errorMessage } from "@/lib/api";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";

function callAction(payment: PaymentRecord, name: string, args: Record<string, string>) {
  return api.integration.callPluginAction({
    interfaceId: payment.gatewayInterfaceId,
    function: name,
    argsJson: JSON.stringify({ payment_id: payment.id, ...args }),
  });
}

/** A dialog about a payment, opened by the payment page. */
export interface PaymentDialogProps {
  payment: PaymentRecord;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

export function ConfirmTransferDialog({ payment, open, onOpenChange }: PaymentDialogProps) {
  const { t } = useTranslation("payments");
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      title={t("bank.confirmTitle")}
      description={t("bank.confirmDescription", {
        amount: formatMoney(payment.amount, payment.currency),
        reference: payment.gatewayPaymentId || payment.id,
      })}
    >
      <ConfirmTransferForm payment={payment} onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function ConfirmTransferForm({ payment, onDone }: { payment: PaymentRecord; onDone: () => void }) {
  const { t } = useTranslation("payments");
  const [amount, setAmount] = React.useState(payment.amount);
  const [reference, setReference] = React.useState("");
  const [note, setNote] = React.useState("");
  const confirm = useApiMutation(
    async () => {
      await callAction(payment, "confirm_receipt", { amount: amount.trim(), reference: reference.trim(), note: note.trim() });
      // The receipt is recorded either way; a failed sync is retried with "Query status".
      try {
        return (await api.payments.queryPaymentStatus({ paymentId: payment.id })).payment;
      } catch (error) {
        toast.warning(t("bank.syncFailed", { error: errorMessage(error) }));
        return undefined;
      }
    },
    { invalidate: [["payments"], ["orders"], ["invoices"]], successMessage: t("bank.confirmed"), onSuccess: onDone },
  );
  return (
    <Form onSubmit={() => confirm.mutate(undefined)}>
      <Field label={t("bank.amount")} htmlFor="transfer-amount" hint={t("bank.amountHint")}>
        <Input id="transfer-amount" required inputMode="decimal" value={amount} onChange={(event) => setAmount(event.target.value)} />
      </Field>
      <Field label={t("bank.reference")} htmlFor="transfer-reference" hint={t("bank.referenceHint")}>
        <Input id="transfer-reference" required value={reference} onChange={(event) => setReference(event.target.value)} />
      </Field>
      <Field label={t("bank.note")} htmlFor="transfer-note">
        <Input id="transfer-note" value={note} onChange={(event) => setNote(event.target.value)} />
      </Field>
      <DialogActions submit={t("bank.confirmSubmit")} onCancel={onDone} disabled={confirm.isPending} />
    </Form>
  );
}

interface RequestedRefund {
  refund_id: string;
  amount: string;
  reason?: string;
  status: string;
  requested_at?: string;
}

export function ConfirmRefundDialog({ payment, open, onOpenChange }: PaymentDialogProps) {
  const { t } = useTranslation("payments");
  return (
    <FormDialog open={open} onOpenChange={onOpenChange} title={t("bank.refundTitle")} description={t("bank.refundDescription")}>
      <ConfirmRefundForm payment={payment} onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function ConfirmRefundForm({ payment, onDone }: { payment: PaymentRecord; onDone: () => void }) {
  const { t, i18n } = useTranslation("payments");
  // The plugin's record of this payment lists the refunds it was asked for.
  const waiting = useQuery({
    queryKey: ["payments", "bank-refunds", payment.id],
    queryFn: async () => {
      const response = await callAction(payment, "list_payments", { status: "refund_requested" });
      const records = JSON.parse(response.resultJson) as { payment_id: string; refunds?: RequestedRefund[] }[];
      const record = records.find((row) => row.payment_id === payment.id);
      return (record?.refunds ?? []).filter((refund) => refund.status === "requested");
    },
    staleTime: 0,
  });
  const [refundId, setRefundId] = React.useState("");
  const [reference, setReference] = React.useState("");
  const chosen = refundId || (waiting.data?.length === 1 ? waiting.data[0].refund_id : "");
  const confirm = useApiMutation(() => callAction(payment, "confirm_refund", { refund_id: chosen, reference: reference.trim() }), {
    invalidate: [["payments"]],
    successMessage: t("bank.refundConfirmed"),
    onSuccess: onDone,
  });
  if (waiting.error) return <QueryError error={waiting.error} />;
  if (waiting.isPending) return <Loading />;
  if (waiting.data.length === 0) {
    return (
      <div className="grid gap-4">
        <p className="text-sm text-muted-foreground">{t("bank.noRefundWaiting")}</p>
        <DialogDone label={t("create.close")} onClose={onDone} />
      </div>
    );
  }
  return (
    <Form onSubmit={() => confirm.mutate(undefined)}>
      <fieldset className="grid gap-2">
        <legend className="mb-1 text-sm font-medium">{t("bank.waitingRefunds")}</legend>
        {waiting.data.map((refund) => (
          <label key={refund.refund_id} className="flex items-start gap-2 text-sm">
            <input
              type="radio"
              name="bank-refund"
              required
              className="mt-1"
              checked={chosen === refund.refund_id}
              onChange={() => setRefundId(refund.refund_id)}
            />
            <span>
              <span className="font-medium">{formatMoney(refund.amount, payment.currency)}</span>
              {refund.requested_at ? ` · ${formatDateTime(refund.requested_at, i18n.language)}` : ""}
              {refund.reason ? ` · ${refund.reason}` : ""}
              <span className="block font-mono text-xs text-muted-foreground">{refund.refund_id}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <Field label={t("bank.refundReference")} htmlFor="bank-refund-reference">
        <Input id="bank-refund-reference" value={reference} onChange={(event) => setReference(event.target.value)} />
      </Field>
      <DialogActions submit={t("bank.refundSubmit")} onCancel={onDone} disabled={confirm.isPending || chosen === ""} />
    </Form>
  );
}
