import * as React from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input, Label, Select } from "@rustbill/ui/input";
import { formatMoney } from "@rustbill/ui/utils";
import type { OrderInfo, PaymentInfo } from "@/gen/rustbill/order/order_pb";
import { ConnectError, api, errorMessage, fieldErrors } from "@/lib/api";
import { ConfirmDialog, CopyButton } from "./parts";

/** The gateway id that pays from the customer's account balance. */
const BALANCE = "balance";

/** What a gateway answered: any of a QR code, a payment page, instructions. */
export type PaymentView = Pick<PaymentInfo, "qrCode" | "paymentUrl" | "instructions">;

/** Starts paying a pending order: gateway choice, then PayOrder. */
export function PayPanel({ order, onPayment }: { order: OrderInfo; onPayment: (payment: PaymentInfo) => void }) {
  const { t } = useTranslation("orders");
  const client = useQueryClient();
  return (
    <PayCard
      title={t("pay.title")}
      amount={order.amount}
      currency={order.currency}
      initialGateway={order.gatewayInterfaceId}
      allowBalance
      pay={async (gatewayInterfaceId) => {
        const response = await api.orders.payOrder({ orderId: order.id, gatewayInterfaceId });
        if (response.payment) onPayment(response.payment);
        void client.invalidateQueries({ queryKey: ["orders"] });
      }}
    />
  );
}

/**
 * Pays an amount through a chosen gateway: the enabled gateways, plus the
 * account balance when `allowBalance` (asked for confirmation first);
 * `pay` makes the call. Used for orders, invoices and recharges.
 */
export function PayCard({
  title,
  amount,
  currency,
  initialGateway = "",
  allowBalance,
  pay,
  submitLabel,
  children,
}: {
  title: string;
  amount: string;
  currency: string;
  initialGateway?: string;
  allowBalance: boolean;
  pay: (gatewayInterfaceId: string) => Promise<void>;
  submitLabel?: string;
  children?: React.ReactNode;
}) {
  const { t } = useTranslation("orders");
  const client = useQueryClient();
  const gateways = useQuery({
    queryKey: ["integration", "gateways"],
    queryFn: () => api.integration.listGateways({}),
  });
  const [gateway, setGateway] = React.useState(initialGateway);
  const [confirming, setConfirming] = React.useState(false);
  const mutation = useMutation({
    mutationFn: pay,
    onSuccess: () => {
      setConfirming(false);
      toast.success(t("pay.started"));
      void client.invalidateQueries({ queryKey: ["payments"] });
      void client.invalidateQueries({ queryKey: ["balance"] });
    },
    onError: (error) => {
      setConfirming(false);
      // `pay` throws plain errors for what it showed itself (a bad amount).
      if (!(error instanceof ConnectError)) return;
      const fields = fieldErrors(error);
      if (!fields.gateway_interface_id) toast.error(errorMessage(error));
    },
  });
  const gatewayError = mutation.error ? fieldErrors(mutation.error).gateway_interface_id : undefined;
  const choices = [
    ...(gateways.data?.gateways ?? []).map((info) => ({ id: info.gatewayId, name: info.gatewayName || info.gatewayId })),
    ...(allowBalance ? [{ id: BALANCE, name: t("pay.balance") }] : []),
  ];
  const selected = choices.some((choice) => choice.id === gateway) ? gateway : (choices[0]?.id ?? "");

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!selected) return;
    if (selected === BALANCE) setConfirming(true);
    else mutation.mutate(selected);
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        {amount ? <p className="text-sm text-muted-foreground">{t("pay.hint", { amount: formatMoney(amount, currency) })}</p> : null}
      </CardHeader>
      <CardContent>
        <form className="flex flex-wrap items-end gap-3" onSubmit={submit}>
          {children}
          <div className="grid min-w-56 flex-1 gap-1.5 sm:flex-none">
            <Label htmlFor="pay-gateway">{t("pay.method")}</Label>
            <Select
              id="pay-gateway"
              value={selected}
              aria-invalid={gatewayError ? true : undefined}
              onChange={(event) => setGateway(event.target.value)}
            >
              {choices.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.name}
                </option>
              ))}
            </Select>
            {gatewayError ? <p className="text-xs text-destructive">{gatewayError}</p> : null}
            {gateways.isError ? <p className="text-xs text-destructive">{t("pay.gatewaysFailed", { message: errorMessage(gateways.error) })}</p> : null}
            {gateways.isSuccess && choices.length === 0 ? <p className="text-xs text-muted-foreground">{t("pay.noGateway")}</p> : null}
          </div>
          <Button type="submit" disabled={mutation.isPending || gateways.isPending || !selected}>
            {submitLabel ?? t("pay.submit")}
          </Button>
        </form>
      </CardContent>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={t("pay.confirmTitle")}
        description={t("pay.confirmText", { amount: formatMoney(amount, currency) })}
        confirmLabel={t("pay.confirm")}
        pending={mutation.isPending}
        onConfirm={() => mutation.mutate(selected)}
      />
    </Card>
  );
}

/** What the gateway returned: QR code, payment page link and instructions. */
export function PaymentInfoView({ payment }: { payment: PaymentView }) {
  const { t } = useTranslation("orders");
  const nothing = !payment.qrCode && !payment.paymentUrl && !payment.instructions;
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("payment.title")}</CardTitle>
        <p className="text-sm text-muted-foreground">{t("payment.hint")}</p>
      </CardHeader>
      <CardContent className="grid gap-4">
        {payment.qrCode ? (
          <img src={payment.qrCode} alt={t("payment.qrCode")} className="size-48 rounded-md border bg-white p-2" />
        ) : null}
        {payment.paymentUrl ? (
          <div className="grid gap-1.5">
            <Label htmlFor="payment-url">{t("payment.url")}</Label>
            <div className="flex flex-wrap gap-2">
              <Input id="payment-url" readOnly value={payment.paymentUrl} className="min-w-0 flex-1" onFocus={(event) => event.target.select()} />
              <CopyButton value={payment.paymentUrl} />
            </div>
            <a href={payment.paymentUrl} target="_blank" rel="noopener noreferrer" className="text-sm text-primary underline">
              {t("payment.open")}
            </a>
          </div>
        ) : null}
        {payment.instructions ? (
          <div className="grid gap-1.5">
            <h4 className="text-sm font-medium">{t("payment.instructions")}</h4>
            <pre className="whitespace-pre-wrap break-words rounded-md bg-muted p-3 font-sans text-sm">{payment.instructions}</pre>
          </div>
        ) : null}
        {nothing ? <p className="text-sm text-muted-foreground">{t("payment.nothing")}</p> : null}
      </CardContent>
    </Card>
  );
}
