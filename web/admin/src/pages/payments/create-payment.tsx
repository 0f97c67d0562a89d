// CreatePayment for an order or an invoice: from the customer's balance at
// once, or through a gateway whose payment URL / instructions the operator
// passes on to the customer.
import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { Button } from "@rustbill/ui/button";
import { DialogFooter } from "@rustbill/ui/dialog";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { DialogActions, FormDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { QueryError } from "@/components/page";
import type { CreatePaymentResponse } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { BALANCE_GATEWAY } from "./gateways";

type Target = "order" | "invoice";

export function CreatePaymentDialog({
  open,
  onOpenChange,
  fixed,
  invalidate = [],
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Pay this record (the target fields are then hidden). */
  fixed?: { target: Target; id: string };
  /** Further queries to refresh after a payment (e.g. the invoice). */
  invalidate?: readonly (readonly unknown[])[];
}) {
  const { t } = useTranslation("payments");
  return (
    <FormDialog open={open} onOpenChange={onOpenChange} title={t("create.title")} description={t("create.description")}>
      <CreatePaymentForm fixed={fixed} invalidate={invalidate} onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function CreatePaymentForm({
  fixed,
  invalidate,
  onDone,
}: {
  fixed?: { target: Target; id: string };
  invalidate: readonly (readonly unknown[])[];
  onDone: () => void;
}) {
  const { t } = useTranslation("payments");
  const navigate = useNavigate();
  const [target, setTarget] = React.useState<Target>(fixed?.target ?? "order");
  const [targetId, setTargetId] = React.useState(fixed?.id ?? "");
  const [gateway, setGateway] = React.useState(BALANCE_GATEWAY);
  const [returnUrl, setReturnUrl] = React.useState("");
  const [started, setStarted] = React.useState<CreatePaymentResponse | null>(null);
  const gateways = useQuery({
    queryKey: ["payments", "enabled-gateways"],
    queryFn: async () => (await api.integration.listGateways({})).gateways,
    staleTime: 60_000,
  });
  const create = useApiMutation(
    () =>
      api.payments.createPayment({
        orderId: target === "order" ? targetId.trim() : "",
        invoiceId: target === "invoice" ? targetId.trim() : "",
        gatewayInterfaceId: gateway,
        returnUrl: returnUrl.trim(),
      }),
    {
      invalidate: [["payments"], ...invalidate.map((key) => [...key])],
      successMessage: t("create.created"),
      onSuccess: (response) => {
        if (response.payment?.status === "success") {
          onDone();
          navigate(`/payments/${response.payment.id}`);
        } else {
          setStarted(response);
        }
      },
    },
  );

  if (started) {
    return (
      <div className="grid gap-4">
        <p className="text-sm">{t("create.pending")}</p>
        {started.paymentUrl ? (
          <Field label={t("create.paymentUrl")} htmlFor="created-payment-url">
            <Input id="created-payment-url" readOnly value={started.paymentUrl} onFocus={(event) => event.target.select()} />
          </Field>
        ) : null}
        {started.qrCode ? (
          <Field label={t("create.qrCode")} htmlFor="created-payment-qr">
            <Textarea id="created-payment-qr" readOnly value={started.qrCode} />
          </Field>
        ) : null}
        {started.instructions ? (
          <Field label={t("create.instructions")} htmlFor="created-payment-instructions">
            <Textarea id="created-payment-instructions" readOnly rows={8} value={started.instructions} />
          </Field>
        ) : null}
        <DialogFooter>
          {started.payment ? (
            <Button asChild variant="outline">
              <Link to={`/payments/${started.payment.id}`} onClick={onDone}>
                {t("create.open")}
              </Link>
            </Button>
          ) : null}
          <Button onClick={onDone}>{t("create.close")}</Button>
        </DialogFooter>
      </div>
    );
  }

  return (
    <Form onSubmit={() => create.mutate(undefined)}>
      {fixed ? null : (
        <>
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">{t("create.target")}</legend>
            <div className="flex gap-4 text-sm">
              {(["order", "invoice"] as const).map((value) => (
                <label key={value} className="flex items-center gap-2">
                  <input
                    type="radio"
                    name="payment-target"
                    value={value}
                    checked={target === value}
                    onChange={() => setTarget(value)}
                  />
                  {t(`purpose.${value}`)}
                </label>
              ))}
            </div>
          </fieldset>
          <Field
            label={target === "order" ? t("create.orderId") : t("create.invoiceId")}
            htmlFor="create-payment-target"
            error={create.errors[target === "order" ? "order_id" : "invoice_id"]}
          >
            <Input
              id="create-payment-target"
              required
              value={targetId}
              onChange={(event) => setTargetId(event.target.value)}
              placeholder={t("filter.idPlaceholder")}
            />
          </Field>
        </>
      )}
      <Field label={t("field.gateway")} htmlFor="create-payment-gateway" error={create.errors.gateway_interface_id}>
        <Select id="create-payment-gateway" value={gateway} onChange={(event) => setGateway(event.target.value)}>
          <option value={BALANCE_GATEWAY}>{t("gateway.balance")}</option>
          {(gateways.data ?? []).map((row) => (
            <option key={row.gatewayId} value={row.gatewayId}>
              {row.isHealthy ? row.gatewayName : t("gateway.unhealthy", { name: row.gatewayName })}
            </option>
          ))}
        </Select>
      </Field>
      {gateways.error ? <QueryError error={gateways.error} /> : null}
      {gateway === BALANCE_GATEWAY ? (
        <p className="text-sm text-muted-foreground">{t("create.balanceHint")}</p>
      ) : (
        <Field label={t("create.returnUrl")} htmlFor="create-payment-return" hint={t("create.returnUrlHint")}>
          <Input
            id="create-payment-return"
            type="url"
            value={returnUrl}
            onChange={(event) => setReturnUrl(event.target.value)}
          />
        </Field>
      )}
      <DialogActions submit={t("create.submit")} onCancel={onDone} disabled={create.isPending} />
    </Form>
  );
}
