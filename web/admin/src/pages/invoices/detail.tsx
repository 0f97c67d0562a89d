import * as React from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { CreditCard, Download, Printer } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Label, Select, Textarea } from "@rustbill/ui/input";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { ActivityCard } from "@/components/activity";
import { ConfirmButton } from "@/components/confirm";
import { Field, Form, useApiMutation } from "@/components/form";
import { BackLink, Details, LoadedRecord, PageHeader, QueryError, StatusBadge, TableMessage, TitledCard } from "@/components/page";
import { CustomerLink, Mono } from "@/components/refs";
import type { InvoiceInfo } from "@/gen/rustbill/billing/billing_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { LANGUAGES, type Language } from "@/lib/i18n";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { usePaymentActionLabel } from "@/pages/payments/activity";
import { CreatePaymentDialog } from "@/pages/payments/create-payment";
import { useGatewayName } from "@/pages/payments/gateways";
import { PaymentStatus } from "@/pages/payments/list";
import { downloadHtml, printHtml, renderInvoice } from "./document";
import { InvoiceKind } from "./shared";

export function InvoiceDetail() {
  const { id = "" } = useParams();
  const { t } = useTranslation("invoices");
  const query = useQuery({
    queryKey: ["invoices", "detail", id],
    queryFn: async () => (await api.billing.getInvoice({ id })).invoice ?? null,
  });
  return (
    <LoadedRecord query={query} notFound={<QueryError error={new Error(t("detail.missing"))} />}>
      {(invoice) => <InvoiceView invoice={invoice} />}
    </LoadedRecord>
  );
}

function InvoiceView({ invoice }: { invoice: InvoiceInfo }) {
  const { t, i18n } = useTranslation("invoices");
  const actionLabel = usePaymentActionLabel();
  const money = (amount: string) => formatMoney(amount, invoice.currency);

  return (
    <div className="grid gap-4">
      <BackLink to="/invoices">{t("detail.back")}</BackLink>
      <PageHeader
        title={invoice.invoiceNumber || t("draftNumber")}
        badge={<StatusBadge status={invoice.status} />}
        description={<Mono>{invoice.id}</Mono>}
        actions={<InvoiceActions invoice={invoice} />}
      />
      <div className="grid gap-4 lg:grid-cols-2">
        <TitledCard title={t("detail.invoice")}>
          <Details
            items={[
              [t("field.number"), invoice.invoiceNumber],
              [t("field.status"), <StatusBadge status={invoice.status} />],
              [t("field.customer"), <CustomerLink id={invoice.customerId} />],
              [t("field.kind"), <InvoiceKind kind={invoice.kind} />],
              [t("field.period"), `${invoice.billingPeriodStart} – ${invoice.billingPeriodEnd}`],
              [t("field.dueDate"), invoice.dueDate],
              [t("field.issuedAt"), formatDateTime(invoice.issuedAt, i18n.language)],
              [t("field.paidAt"), formatDateTime(invoice.paidAt, i18n.language)],
              [t("field.createdAt"), formatDateTime(invoice.createdAt, i18n.language)],
              [t("field.updatedAt"), formatDateTime(invoice.updatedAt, i18n.language)],
            ]}
          />
        </TitledCard>
        <TitledCard title={t("detail.amounts")}>
          <Details
            items={[
              [t("field.subtotal"), money(invoice.amount)],
              [t("field.taxRate"), invoice.taxRate ? `${invoice.taxRate}%` : ""],
              [t("field.tax"), money(invoice.taxAmount)],
              [t("field.total"), <span className="font-semibold">{money(invoice.totalAmount)}</span>],
              [t("field.currency"), invoice.currency],
            ]}
          />
        </TitledCard>
      </div>
      <TitledCard title={t("detail.items")}>
        <Table>
          <THead>
            <TR>
              <TH>{t("field.description")}</TH>
              <TH className="text-right">{t("field.quantity")}</TH>
              <TH className="text-right">{t("field.unitPrice")}</TH>
              <TH className="text-right">{t("field.amount")}</TH>
            </TR>
          </THead>
          <TBody>
            {invoice.items.length === 0 ? (
              <TableMessage colSpan={4}>{t("table.empty", { ns: "common" })}</TableMessage>
            ) : (
              invoice.items.map((item) => (
                <TR key={item.id}>
                  <TD>{item.description}</TD>
                  <TD className="text-right tabular-nums">{item.quantity}</TD>
                  <TD className="text-right tabular-nums">{money(item.unitPrice)}</TD>
                  <TD className="text-right tabular-nums">{money(item.amount)}</TD>
                </TR>
              ))
            )}
            <TR>
              <TD colSpan={3} className="text-right text-muted-foreground">
                {t("field.subtotal")}
              </TD>
              <TD className="text-right tabular-nums">{money(invoice.amount)}</TD>
            </TR>
            <TR>
              <TD colSpan={3} className="text-right text-muted-foreground">
                {t("field.tax")}
                {invoice.taxRate ? ` (${invoice.taxRate}%)` : ""}
              </TD>
              <TD className="text-right tabular-nums">{money(invoice.taxAmount)}</TD>
            </TR>
            <TR>
              <TD colSpan={3} className="text-right font-medium">
                {t("field.total")}
              </TD>
              <TD className="text-right font-semibold tabular-nums">{money(invoice.totalAmount)}</TD>
            </TR>
          </TBody>
        </Table>
      </TitledCard>
      <div className="grid gap-4 lg:grid-cols-2">
        <InvoicePayments invoice={invoice} />
        <NotesEditor key={invoice.updatedAt} invoice={invoice} />
      </div>
      <ActivityCard area="invoices" targetType="invoice" targetId={invoice.id} actionLabel={actionLabel} />
    </div>
  );
}

/** Status changes (admin only), download and print. */
function InvoiceActions({ invoice }: { invoice: InvoiceInfo }) {
  const { t, i18n } = useTranslation("invoices");
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [language, setLanguage] = React.useState<Language>(i18n.language === "en" ? "en" : "zh-CN");
  const render = useApiMutation(
    async (mode: "download" | "print") => {
      const rendered = await renderInvoice(invoice.id, language);
      if (mode === "download") downloadHtml(rendered.html, rendered.filename);
      else printHtml(rendered.html);
      return mode;
    },
    { successMessage: t("detail.rendered") },
  );
  const changeStatus = async (status: string, message: string) => {
    await api.billing.updateInvoice({ id: invoice.id, status });
    await client.invalidateQueries({ queryKey: ["invoices"] });
    await client.invalidateQueries({ queryKey: ["payments"] });
    toast.success(message);
  };
  const remove = async () => {
    await api.billing.deleteInvoice({ id: invoice.id });
    await client.invalidateQueries({ queryKey: ["invoices", "list"] });
    toast.success(t("detail.deleted"));
    navigate("/invoices");
  };
  const status = invoice.status;
  const payable = status === "issued" || status === "overdue";
  return (
    <>
      <div className="flex items-center gap-2">
        <Label htmlFor="invoice-document-language" className="text-muted-foreground">
          {t("detail.documentLanguage")}
        </Label>
        <Select
          id="invoice-document-language"
          className="w-28"
          value={language}
          onChange={(event) => setLanguage(event.target.value as Language)}
        >
          {LANGUAGES.map((code) => (
            <option key={code} value={code}>
              {t(`language.${code}`)}
            </option>
          ))}
        </Select>
        <Button variant="outline" disabled={render.isPending} onClick={() => render.mutate("download")}>
          <Download />
          {t("detail.download")}
        </Button>
        <Button variant="outline" disabled={render.isPending} onClick={() => render.mutate("print")}>
          <Printer />
          {t("detail.print")}
        </Button>
      </div>
      {isAdmin && status === "draft" ? (
        <ConfirmButton
          destructive={false}
          title={t("issue.title")}
          description={t("issue.description")}
          confirmLabel={t("issue.confirm")}
          onConfirm={() => changeStatus("issued", t("issue.done"))}
        >
          {t("issue.button")}
        </ConfirmButton>
      ) : null}
      {isAdmin && payable ? (
        <ConfirmButton
          destructive={false}
          title={t("markPaid.title")}
          description={t("markPaid.description", { amount: formatMoney(invoice.totalAmount, invoice.currency) })}
          confirmLabel={t("markPaid.confirm")}
          onConfirm={() => changeStatus("paid", t("markPaid.done"))}
        >
          {t("markPaid.button")}
        </ConfirmButton>
      ) : null}
      {isAdmin && status === "issued" ? (
        <ConfirmButton
          variant="outline"
          title={t("markOverdue.title")}
          description={t("markOverdue.description")}
          confirmLabel={t("markOverdue.confirm")}
          onConfirm={() => changeStatus("overdue", t("markOverdue.done"))}
        >
          {t("markOverdue.button")}
        </ConfirmButton>
      ) : null}
      {isAdmin && (status === "draft" || payable) ? (
        <ConfirmButton
          variant="outline"
          title={t("cancelInvoice.title")}
          description={t("cancelInvoice.description")}
          confirmLabel={t("cancelInvoice.confirm")}
          onConfirm={() => changeStatus("cancelled", t("cancelInvoice.done"))}
        >
          {t("cancelInvoice.button")}
        </ConfirmButton>
      ) : null}
      {isAdmin && status === "draft" ? (
        <ConfirmButton title={t("delete.title")} description={t("delete.description")} onConfirm={remove}>
          {t("action.delete", { ns: "common" })}
        </ConfirmButton>
      ) : null}
    </>
  );
}

/** The payments made for this invoice, and collecting a new one. */
function InvoicePayments({ invoice }: { invoice: InvoiceInfo }) {
  const { t, i18n } = useTranslation("invoices");
  const gatewayName = useGatewayName();
  const [collecting, setCollecting] = React.useState(false);
  const payments = useQuery({
    queryKey: ["payments", "list", "invoice", invoice.id],
    queryFn: () => api.payments.listPayments({ pagination: { page: 1, pageSize: 50 }, invoiceId: invoice.id }),
  });
  const payable = invoice.status === "issued" || invoice.status === "overdue";
  return (
    <TitledCard
      title={t("detail.payments")}
      actions={
        payable ? (
          <Button size="sm" variant="outline" onClick={() => setCollecting(true)}>
            <CreditCard />
            {t("detail.collect")}
          </Button>
        ) : null
      }
    >
      {payments.error ? (
        <QueryError error={payments.error} />
      ) : (
        <Table>
          <THead>
            <TR>
              <TH>{t("field.createdAt")}</TH>
              <TH>{t("detail.gateway")}</TH>
              <TH className="text-right">{t("field.amount")}</TH>
              <TH>{t("field.status")}</TH>
            </TR>
          </THead>
          <TBody>
            {payments.isPending ? (
              <TableMessage colSpan={4}>{t("loading", { ns: "common" })}</TableMessage>
            ) : payments.data.payments.length === 0 ? (
              <TableMessage colSpan={4}>{t("detail.noPayments")}</TableMessage>
            ) : (
              payments.data.payments.map((payment) => (
                <TR key={payment.id} data-row-key={payment.id}>
                  <TD className="whitespace-nowrap">
                    <Link to={`/payments/${payment.id}`} className="text-primary hover:underline">
                      {formatDateTime(payment.createdAt, i18n.language)}
                    </Link>
                  </TD>
                  <TD>{gatewayName(payment.gatewayInterfaceId)}</TD>
                  <TD className="text-right tabular-nums">{formatMoney(payment.amount, payment.currency)}</TD>
                  <TD>
                    <PaymentStatus payment={payment} />
                  </TD>
                </TR>
              ))
            )}
          </TBody>
        </Table>
      )}
      <CreatePaymentDialog
        open={collecting}
        onOpenChange={setCollecting}
        fixed={{ target: "invoice", id: invoice.id }}
        invalidate={[["invoices"]]}
      />
    </TitledCard>
  );
}

/** Notes are the one field operators may change. */
function NotesEditor({ invoice }: { invoice: InvoiceInfo }) {
  const { t } = useTranslation("invoices");
  const [notes, setNotes] = React.useState(invoice.notes);
  const save = useApiMutation(() => api.billing.updateInvoice({ id: invoice.id, notes }), {
    invalidate: [["invoices"]],
    successMessage: t("detail.notesSaved"),
  });
  return (
    <TitledCard title={t("field.notes")}>
      <Form className="gap-3" onSubmit={() => save.mutate(undefined)}>
        <Field label={t("field.notes")} htmlFor="invoice-notes-edit" error={save.errors.notes}>
          <Textarea id="invoice-notes-edit" maxLength={2000} rows={5} value={notes} onChange={(event) => setNotes(event.target.value)} />
        </Field>
        <div className="flex justify-end">
          <Button type="submit" disabled={save.isPending || notes === invoice.notes}>
            {t("detail.saveNotes")}
          </Button>
        </div>
      </Form>
    </TitledCard>
  );
}
