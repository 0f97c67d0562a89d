// GenerateInvoices (a period's renewals, one invoice per customer) and
// RunBilling (the billing cycle the leader runs periodically), admin only.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Input } from "@rustbill/ui/input";
import { DialogActions, DialogDone, FormDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { Details } from "@/components/page";
import type { RunBillingResponse } from "@/gen/rustbill/billing/billing_pb";
import { api } from "@/lib/api";
import { monthRange } from "./shared";

export function GenerateInvoicesDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const { t } = useTranslation("invoices");
  return (
    <FormDialog open={open} onOpenChange={onOpenChange} title={t("generate.title")} description={t("generate.description")}>
      <GenerateForm onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function GenerateForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation("invoices");
  const [defaultStart, defaultEnd] = monthRange();
  const [start, setStart] = React.useState(defaultStart);
  const [end, setEnd] = React.useState(defaultEnd);
  const [generated, setGenerated] = React.useState<number | null>(null);
  const generate = useApiMutation(
    () => api.billing.generateInvoices({ billingPeriodStart: start, billingPeriodEnd: end }),
    {
      invalidate: [["invoices"]],
      successMessage: t("generate.done"),
      onSuccess: (response) => setGenerated(response.generatedCount),
    },
  );
  if (generated !== null) {
    return (
      <div className="grid gap-4">
        <p className="text-sm" role="status">
          {t("generate.result", { count: generated, start, end })}
        </p>
        <DialogDone label={t("close")} onClose={onDone} />
      </div>
    );
  }
  return (
    <Form onSubmit={() => generate.mutate(undefined)}>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label={t("field.periodStart")} htmlFor="generate-start" error={generate.errors.billing_period_start}>
          <Input id="generate-start" type="date" required value={start} onChange={(event) => setStart(event.target.value)} />
        </Field>
        <Field label={t("field.periodEnd")} htmlFor="generate-end" error={generate.errors.billing_period_end}>
          <Input id="generate-end" type="date" required value={end} onChange={(event) => setEnd(event.target.value)} />
        </Field>
      </div>
      <DialogActions submit={t("generate.submit")} onCancel={onDone} disabled={generate.isPending} />
    </Form>
  );
}

export function RunBillingDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const { t } = useTranslation("invoices");
  return (
    <FormDialog open={open} onOpenChange={onOpenChange} title={t("run.title")} description={t("run.description")}>
      <RunForm onDone={() => onOpenChange(false)} />
    </FormDialog>
  );
}

function RunForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation("invoices");
  const [asOf, setAsOf] = React.useState("");
  const [report, setReport] = React.useState<RunBillingResponse | null>(null);
  const run = useApiMutation(
    () => api.billing.runBilling({ asOf: asOf ? new Date(asOf).toISOString() : "" }),
    {
      invalidate: [["invoices"], ["orders"], ["instances"], ["payments"]],
      successMessage: t("run.done"),
      onSuccess: setReport,
    },
  );
  if (report) {
    return (
      <div className="grid gap-4" role="status">
        <Details
          items={[
            [t("run.renewalsIssued"), report.renewalsIssued],
            [t("run.paidFromBalance"), report.paidFromBalance],
            [t("run.overdue"), report.overdue],
            [t("run.suspended"), report.suspended],
            [t("run.terminated"), report.terminated],
          ]}
        />
        <DialogDone label={t("close")} onClose={onDone} />
      </div>
    );
  }
  return (
    <Form onSubmit={() => run.mutate(undefined)}>
      <Field label={t("run.asOf")} htmlFor="run-as-of" hint={t("run.asOfHint")} error={run.errors.as_of}>
        <Input id="run-as-of" type="datetime-local" value={asOf} onChange={(event) => setAsOf(event.target.value)} />
      </Field>
      <p className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive">{t("run.warning")}</p>
      <DialogActions submit={t("run.submit")} onCancel={onDone} disabled={run.isPending} destructive />
    </Form>
  );
}
