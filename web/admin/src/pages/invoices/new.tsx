// CreateInvoice: a manual invoice with its lines. The server computes the
// amounts (tax per its settings) and creates it as a draft.
import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { Plus, Trash2 } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent } from "@rustbill/ui/card";
import { Input, Textarea } from "@rustbill/ui/input";
import { Field, Form, useApiMutation } from "@/components/form";
import { BackLink, PageHeader, TitledCard } from "@/components/page";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { fromCents, toCents } from "@/lib/money";
import { CustomerSelect } from "@/pages/payments/customer";
import { monthRange } from "./shared";

interface Line {
  key: number;
  description: string;
  quantity: string;
  unitPrice: string;
}

let nextKey = 0;
const emptyLine = (): Line => ({ key: nextKey++, description: "", quantity: "1", unitPrice: "" });

/** quantity × unit price in cents, null while either is not a number. */
function lineCents(line: Line): bigint | null {
  const price = toCents(line.unitPrice);
  const quantity = /^\d+$/.test(line.quantity.trim()) ? BigInt(line.quantity.trim()) : null;
  return price === null || quantity === null ? null : price * quantity;
}

export function NewInvoice() {
  const { t } = useTranslation("invoices");
  const isAdmin = useIsAdmin();
  const navigate = useNavigate();
  const [periodStart, periodEnd] = monthRange();
  const [customerId, setCustomerId] = React.useState("");
  const [start, setStart] = React.useState(periodStart);
  const [end, setEnd] = React.useState(periodEnd);
  const [due, setDue] = React.useState(periodEnd);
  const [notes, setNotes] = React.useState("");
  const [lines, setLines] = React.useState<Line[]>(() => [emptyLine()]);
  const create = useApiMutation(
    () =>
      api.billing.createInvoice({
        customerId,
        billingPeriodStart: start,
        billingPeriodEnd: end,
        dueDate: due,
        notes: notes.trim(),
        items: lines.map((line) => ({
          description: line.description.trim(),
          quantity: Number(line.quantity),
          unitPrice: line.unitPrice.trim(),
        })),
      }),
    {
      invalidate: [["invoices"]],
      successMessage: t("create.created"),
      onSuccess: (response) => navigate(`/invoices/${response.invoice?.id ?? ""}`),
    },
  );
  const update = (key: number, change: Partial<Line>) =>
    setLines((current) => current.map((line) => (line.key === key ? { ...line, ...change } : line)));
  const amounts = lines.map(lineCents);
  const subtotal = amounts.every((amount) => amount !== null)
    ? amounts.reduce<bigint>((sum, amount) => sum + (amount ?? 0n), 0n)
    : null;
  const errors = create.errors;

  return (
    <div className="grid gap-4">
      <BackLink to="/invoices">{t("detail.back")}</BackLink>
      <PageHeader title={t("create.title")} description={t("create.description")} />
      {!isAdmin ? <p className="text-sm text-destructive">{t("adminOnly")}</p> : null}
      <Form onSubmit={() => create.mutate(undefined)}>
        <Card>
          <CardContent className="grid gap-4 pt-4">
            <CustomerSelect
              id="invoice-customer"
              label={t("field.customer")}
              value={customerId}
              onChange={setCustomerId}
              emptyLabel={t("create.chooseCustomer")}
              error={errors.customer_id}
              required
            />
            <div className="grid gap-4 sm:grid-cols-3">
              <Field label={t("field.periodStart")} htmlFor="invoice-period-start" error={errors.billing_period_start}>
                <Input id="invoice-period-start" type="date" required value={start} onChange={(event) => setStart(event.target.value)} />
              </Field>
              <Field label={t("field.periodEnd")} htmlFor="invoice-period-end" error={errors.billing_period_end}>
                <Input id="invoice-period-end" type="date" required value={end} onChange={(event) => setEnd(event.target.value)} />
              </Field>
              <Field label={t("field.dueDate")} htmlFor="invoice-due-date" error={errors.due_date}>
                <Input id="invoice-due-date" type="date" required value={due} onChange={(event) => setDue(event.target.value)} />
              </Field>
            </div>
            <Field label={t("field.notes")} htmlFor="invoice-notes" error={errors.notes}>
              <Textarea id="invoice-notes" maxLength={2000} value={notes} onChange={(event) => setNotes(event.target.value)} />
            </Field>
          </CardContent>
        </Card>
        <TitledCard
          title={t("detail.items")}
          contentClassName="grid gap-4"
          actions={
            <Button type="button" variant="outline" size="sm" onClick={() => setLines((current) => [...current, emptyLine()])}>
              <Plus />
              {t("create.addItem")}
            </Button>
          }
        >
          {errors.items ? (
            <p className="text-xs text-destructive" role="alert">
              {errors.items}
            </p>
          ) : null}
          {lines.map((line, index) => {
            const amount = amounts[index];
            return (
              <fieldset
                key={line.key}
                className="grid gap-3 rounded-md border p-3 sm:grid-cols-[1fr_6rem_9rem_7rem_auto] sm:items-start"
              >
                <legend className="px-1 text-xs text-muted-foreground">{t("create.itemNumber", { number: index + 1 })}</legend>
                <Field label={t("field.description")} htmlFor={`item-${line.key}-description`} error={errors[`items[${index}].description`]}>
                  <Input
                    id={`item-${line.key}-description`}
                    required
                    maxLength={500}
                    value={line.description}
                    onChange={(event) => update(line.key, { description: event.target.value })}
                  />
                </Field>
                <Field label={t("field.quantity")} htmlFor={`item-${line.key}-quantity`} error={errors[`items[${index}].quantity`]}>
                  <Input
                    id={`item-${line.key}-quantity`}
                    type="number"
                    min={1}
                    max={100000}
                    step={1}
                    required
                    value={line.quantity}
                    onChange={(event) => update(line.key, { quantity: event.target.value })}
                  />
                </Field>
                <Field label={t("field.unitPrice")} htmlFor={`item-${line.key}-price`} error={errors[`items[${index}].unit_price`]}>
                  <Input
                    id={`item-${line.key}-price`}
                    inputMode="decimal"
                    required
                    placeholder="0.00"
                    value={line.unitPrice}
                    onChange={(event) => update(line.key, { unitPrice: event.target.value })}
                  />
                </Field>
                <div className="grid gap-1.5">
                  <span className="text-sm font-medium leading-none">{t("field.amount")}</span>
                  <span className="flex h-9 items-center text-sm tabular-nums">{amount === null ? "—" : fromCents(amount)}</span>
                </div>
                <Button
                  type="button"
                  variant="ghost"
                  size="icon"
                  className="sm:mt-5"
                  disabled={lines.length === 1}
                  aria-label={t("create.removeItem", { number: index + 1 })}
                  onClick={() => setLines((current) => current.filter((other) => other.key !== line.key))}
                >
                  <Trash2 />
                </Button>
              </fieldset>
            );
          })}
          <p className="text-right text-sm">
            {t("create.subtotal")}: <span className="font-medium tabular-nums">{subtotal === null ? "—" : fromCents(subtotal)}</span>
            <span className="block text-xs text-muted-foreground">{t("create.taxHint")}</span>
          </p>
        </TitledCard>
        <div className="flex justify-end gap-2">
          <Button asChild variant="outline">
            <Link to="/invoices">{t("action.cancel", { ns: "common" })}</Link>
          </Button>
          <Button type="submit" disabled={create.isPending || !isAdmin}>
            {t("create.submit")}
          </Button>
        </div>
      </Form>
    </div>
  );
}
