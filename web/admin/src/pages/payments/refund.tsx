// RefundPayment: in full (amount empty: what is left) or in part, through
// the payment's gateway or to the customer's balance, with a reason.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Input, Textarea } from "@rustbill/ui/input";
import { DialogActions, FormDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { fromCents, toCents } from "@/lib/money";
import { formatMoney } from "@rustbill/ui/utils";
import type { PaymentDialogProps } from "./bank-transfer";
import { BALANCE_GATEWAY } from "./gateways";
import { refundableCents } from "./money";

export function RefundDialog({
  payment,
  bankTransfer,
  open,
  onOpenChange,
}: PaymentDialogProps & {
  /** The gateway is a bank transfer: a gateway refund is a transfer made by hand. */
  bankTransfer: boolean;
}) {
  const { t } = useTranslation("payments");
  return (
    <FormDialog open={open} onOpenChange={onOpenChange} title={t("refund.title")} description={t("refund.description")}>
      <RefundForm payment={payment} bankTransfer={bankTransfer} onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function RefundForm({ payment, bankTransfer, onDone }: { payment: PaymentRecord; bankTransfer: boolean; onDone: () => void }) {
  const { t } = useTranslation("payments");
  const left = refundableCents(payment.amount, payment.refundedAmount) ?? 0n;
  const paidFromBalance = payment.gatewayInterfaceId === BALANCE_GATEWAY;
  const [mode, setMode] = React.useState<"full" | "partial">("full");
  const [amount, setAmount] = React.useState("");
  const [toBalance, setToBalance] = React.useState(paidFromBalance);
  const [reason, setReason] = React.useState("");
  const [localError, setLocalError] = React.useState("");
  const refund = useApiMutation(
    () =>
      api.payments.refundPayment({
        paymentId: payment.id,
        amount: mode === "full" ? "" : amount.trim(),
        toBalance,
        reason: reason.trim(),
      }),
    { invalidate: [["payments"]], successMessage: t("refund.done"), onSuccess: onDone },
  );
  const partial = toCents(amount);
  const refunding = mode === "full" ? left : partial;
  const money = (cents: bigint) => formatMoney(fromCents(cents), payment.currency);

  const submit = () => {
    if (mode === "partial" && (partial === null || partial <= 0n || partial > left)) {
      setLocalError(t("refund.amountInvalid", { left: money(left) }));
      return;
    }
    setLocalError("");
    refund.mutate(undefined);
  };

  return (
    <Form onSubmit={submit}>
      <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 rounded-md border bg-muted/40 p-3 text-sm">
        <dt className="text-muted-foreground">{t("field.amount")}</dt>
        <dd>{formatMoney(payment.amount, payment.currency)}</dd>
        <dt className="text-muted-foreground">{t("field.refundedAmount")}</dt>
        <dd>{formatMoney(payment.refundedAmount || "0.00", payment.currency)}</dd>
        <dt className="text-muted-foreground">{t("field.refundable")}</dt>
        <dd className="font-medium" data-testid="refundable">
          {money(left)}
        </dd>
      </dl>
      <fieldset className="grid gap-2">
        <legend className="mb-1 text-sm font-medium">{t("refund.mode")}</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="refund-mode" checked={mode === "full"} onChange={() => setMode("full")} />
          {t("refund.full", { amount: money(left) })}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="refund-mode" checked={mode === "partial"} onChange={() => setMode("partial")} />
          {t("refund.partial")}
        </label>
      </fieldset>
      {mode === "partial" ? (
        <Field
          label={t("refund.amount")}
          htmlFor="refund-amount"
          error={localError || refund.errors.amount}
          hint={t("refund.amountHint", { left: money(left) })}
        >
          <Input
            id="refund-amount"
            inputMode="decimal"
            autoFocus
            required
            value={amount}
            onChange={(event) => setAmount(event.target.value)}
            placeholder={fromCents(left)}
            aria-invalid={localError || refund.errors.amount ? true : undefined}
          />
        </Field>
      ) : null}
      <fieldset className="grid gap-2">
        <legend className="mb-1 text-sm font-medium">{t("refund.destination")}</legend>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="radio"
            name="refund-destination"
            checked={!toBalance}
            disabled={paidFromBalance}
            onChange={() => setToBalance(false)}
          />
          {t("refund.toGateway")}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="refund-destination" checked={toBalance} onChange={() => setToBalance(true)} />
          {t("refund.toBalance")}
        </label>
        {paidFromBalance ? (
          <p className="text-xs text-muted-foreground">{t("refund.balanceOnly")}</p>
        ) : !toBalance && bankTransfer ? (
          <p className="text-xs text-muted-foreground">{t("refund.bankTransferHint")}</p>
        ) : null}
      </fieldset>
      <Field label={t("refund.reason")} htmlFor="refund-reason" error={refund.errors.reason}>
        <Textarea id="refund-reason" maxLength={500} value={reason} onChange={(event) => setReason(event.target.value)} />
      </Field>
      {refunding !== null && refunding > 0n ? (
        <p className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive" role="note">
          {toBalance
            ? t("refund.summaryBalance", { amount: money(refunding) })
            : t("refund.summaryGateway", { amount: money(refunding) })}
        </p>
      ) : null}
      <DialogActions submit={t("refund.confirm")} onCancel={onDone} disabled={refund.isPending} destructive />
    </Form>
  );
}
