// The customer's invoices: a paged list with a status filter, and the
// detail with its items, download (the server's rendered HTML), print, and
// payment through a gateway or the balance, followed until it is paid.
import * as React from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Route, Routes, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import type { InvoiceInfo } from "@/gen/rustbill/billing/billing_pb";
import { api, errorMessage } from "@/lib/api";
import { Detail, Empty, FilterSelect, Pager, QueryBody, QueryError, StatusBadge, useListParams, RowList } from "../orders/parts";
import { PayCard, PaymentInfoView, type PaymentView } from "../orders/payment";

/** What a customer can see (drafts are never shown to customers). */
const STATUSES = ["issued", "overdue", "paid", "cancelled"] as const;
const PAYABLE = ["issued", "overdue"];

export default function InvoicesPage() {
  return (
    <Routes>
      <Route index element={<InvoiceList />} />
      <Route path=":id" element={<InvoiceDetail />} />
    </Routes>
  );
}

function period(invoice: InvoiceInfo) {
  return invoice.billingPeriodStart && invoice.billingPeriodEnd
    ? `${invoice.billingPeriodStart} – ${invoice.billingPeriodEnd}`
    : "";
}

function InvoiceList() {
  const { t, i18n } = useTranslation("billing");
  const list = useListParams(["status"] as const);
  const invoices = useQuery({
    queryKey: ["invoices", "list", list.page, list.filters],
    queryFn: () => api.billing.listInvoices({ pagination: list.pagination, status: list.filters.status || undefined }),
    placeholderData: keepPreviousData,
  });
  const columns = "md:grid-cols-[11rem_1fr_8rem_7rem_9rem]";
  return (
    <div className="grid gap-4">
      <h1 className="text-2xl font-semibold">{t("invoices.title")}</h1>
      <FilterSelect
        id="invoices-status"
        label={t("invoices.filter.status")}
        allLabel={t("invoices.filter.all")}
        value={list.filters.status}
        values={STATUSES}
        optionLabel={(status) => t(`invoiceStatus.${status}`, { ns: "orders" })}
        onChange={(status) => list.setFilter("status", status)}
      />
      <QueryBody query={invoices} isEmpty={(data) => data.invoices.length === 0} empty={t("invoices.empty")}>
        {(data) => (
        <>
          <RowList
            columns={columns}
            header={
              <>
              <span>{t("invoices.field.number")}</span>
              <span>{t("invoices.field.issuedAt")}</span>
              <span>{t("invoices.field.total")}</span>
              <span>{t("invoices.field.status")}</span>
              <span>{t("invoices.field.dueDate")}</span>
              </>
            }
          >
            {data.invoices.map((invoice) => (
              <li key={invoice.id} data-row-key={invoice.id} className="rounded-lg border bg-card md:rounded-none md:border-0 md:border-t md:bg-transparent">
                <Link
                  to={`/dashboard/invoices/${invoice.id}`}
                  className={`grid grid-cols-2 gap-x-3 gap-y-1 p-3 text-sm hover:bg-muted/40 md:items-center md:py-2 ${columns}`}
                >
                  <span className="font-mono text-primary">{invoice.invoiceNumber || t("invoices.unnumbered")}</span>
                  <span className="justify-self-end md:hidden">
                    <StatusBadge kind="invoice" status={invoice.status} />
                  </span>
                  <span className="text-muted-foreground">{formatDateTime(invoice.issuedAt, i18n.language)}</span>
                  <span className="justify-self-end font-medium md:justify-self-start">{formatMoney(invoice.totalAmount, invoice.currency)}</span>
                  <span className="hidden md:block">
                    <StatusBadge kind="invoice" status={invoice.status} />
                  </span>
                  <span className="col-span-2 text-xs text-muted-foreground md:col-span-1 md:text-sm">
                    <span className="md:hidden">{t("invoices.field.dueDate")}: </span>
                    {invoice.dueDate || "--"}
                  </span>
                </Link>
              </li>
            ))}
          </RowList>
          <Pager meta={data.meta} onPage={list.setPage} />
        </>
        )}
      </QueryBody>
    </div>
  );
}

/** The server's printable HTML of an invoice, in the page's language. */
function useRendered(id: string) {
  const { t, i18n } = useTranslation("billing");
  return useMutation({
    mutationFn: () => api.billing.renderInvoice({ id, locale: i18n.language === "en" ? "en" : "zh-CN" }),
    onError: (error) => toast.error(t("invoices.downloadFailed", { message: errorMessage(error) })),
  });
}

function InvoiceDetail() {
  const { t, i18n } = useTranslation("billing");
  const { id = "" } = useParams();
  const client = useQueryClient();
  const [payment, setPayment] = React.useState<PaymentView | undefined>();
  const invoice = useQuery({
    queryKey: ["invoices", "detail", id],
    queryFn: () => api.billing.getInvoice({ id }),
    // Follow a started payment until the invoice is paid.
    refetchInterval: (query) => (payment && PAYABLE.includes(query.state.data?.invoice?.status ?? "") ? 3000 : false),
  });
  const rendered = useRendered(id);
  const info = invoice.data?.invoice;

  const download = () =>
    rendered.mutate(undefined, {
      onSuccess: ({ html, filename }) => {
        const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
        const link = document.createElement("a");
        link.href = url;
        link.download = filename || `${info?.invoiceNumber || id}.html`;
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
    });
  const print = () =>
    rendered.mutate(undefined, {
      onSuccess: ({ html }) => {
        // A hidden frame with no script rights prints the server's page.
        const frame = document.createElement("iframe");
        frame.setAttribute("sandbox", "allow-modals allow-same-origin");
        // Kept out of sight but laid out: some browsers print a display:none frame blank.
        frame.setAttribute("aria-hidden", "true");
        frame.style.cssText = "position:fixed;right:0;bottom:0;width:0;height:0;border:0";
        frame.srcdoc = html;
        frame.onload = () => {
          frame.contentWindow?.print();
          setTimeout(() => frame.remove(), 60_000);
        };
        document.body.append(frame);
      },
    });

  if (invoice.isError) return <QueryError error={invoice.error} onRetry={() => void invoice.refetch()} />;
  if (invoice.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  if (!info) return <Empty>{t("invoices.notFound")}</Empty>;
  const payable = PAYABLE.includes(info.status);

  return (
    <div className="grid gap-4">
      <Link to="/dashboard/invoices" className="text-sm text-muted-foreground hover:text-primary">
        ← {t("invoices.backToList")}
      </Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="font-mono text-2xl font-semibold">{info.invoiceNumber || t("invoices.unnumbered")}</h1>
        <StatusBadge kind="invoice" status={info.status} />
        <div className="ml-auto flex gap-2">
          <Button variant="outline" size="sm" disabled={rendered.isPending} onClick={download}>
            {t("invoices.download")}
          </Button>
          <Button variant="outline" size="sm" disabled={rendered.isPending} onClick={print}>
            {t("invoices.print")}
          </Button>
        </div>
      </div>
      {info.status === "paid" ? (
        <p className="rounded-md border border-green-600/30 bg-green-600/10 p-3 text-sm">
          {t("invoices.paidNotice", { at: formatDateTime(info.paidAt, i18n.language) })}
        </p>
      ) : null}
      {payable ? (
        <>
          <PayCard
            title={t("invoices.payTitle")}
            amount={info.totalAmount}
            currency={info.currency}
            allowBalance
            pay={async (gatewayInterfaceId) => {
              const started = await api.payments.createPayment({ invoiceId: info.id, gatewayInterfaceId, returnUrl: window.location.href });
              setPayment(started);
              void client.invalidateQueries({ queryKey: ["invoices"] });
            }}
          />
          {payment ? (
            <>
              <p className="text-sm text-muted-foreground">{t("invoices.waiting")}</p>
              <PaymentInfoView payment={payment} />
            </>
          ) : null}
        </>
      ) : null}
      <Card>
        <CardContent className="pt-6">
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Detail label={t("invoices.field.kind")}>{t(`invoices.kind.${info.kind}`, { defaultValue: info.kind })}</Detail>
            <Detail label={t("invoices.field.period")}>{period(info)}</Detail>
            <Detail label={t("invoices.field.issuedAt")}>{formatDateTime(info.issuedAt, i18n.language)}</Detail>
            <Detail label={t("invoices.field.dueDate")}>{info.dueDate}</Detail>
            {info.paidAt ? <Detail label={t("invoices.field.paidAt")}>{formatDateTime(info.paidAt, i18n.language)}</Detail> : null}
            {info.notes ? <Detail label={t("invoices.field.notes")}>{info.notes}</Detail> : null}
          </dl>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t("invoices.items.title")}</CardTitle>
        </CardHeader>
        <CardContent className="overflow-x-auto">
          <Table>
            <THead>
              <TR>
                <TH>{t("invoices.items.description")}</TH>
                <TH className="text-right">{t("invoices.items.quantity")}</TH>
                <TH className="text-right">{t("invoices.items.unitPrice")}</TH>
                <TH className="text-right">{t("invoices.items.amount")}</TH>
              </TR>
            </THead>
            <TBody>
              {info.items.map((item) => (
                <TR key={item.id}>
                  <TD>{item.description}</TD>
                  <TD className="text-right tabular-nums">{item.quantity}</TD>
                  <TD className="text-right tabular-nums">{formatMoney(item.unitPrice, info.currency)}</TD>
                  <TD className="text-right tabular-nums">{formatMoney(item.amount, info.currency)}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
          <dl className="ml-auto mt-4 grid max-w-xs grid-cols-2 gap-1 text-sm">
            <dt className="text-muted-foreground">{t("invoices.items.subtotal")}</dt>
            <dd className="text-right tabular-nums">{formatMoney(info.amount, info.currency)}</dd>
            <dt className="text-muted-foreground">{t("invoices.items.tax", { rate: info.taxRate || "0" })}</dt>
            <dd className="text-right tabular-nums">{formatMoney(info.taxAmount, info.currency)}</dd>
            <dt className="font-medium">{t("invoices.items.total")}</dt>
            <dd className="text-right font-semibold tabular-nums">{formatMoney(info.totalAmount, info.currency)}</dd>
          </dl>
        </CardContent>
      </Card>
    </div>
  );
}
