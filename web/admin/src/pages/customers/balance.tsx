// A customer's balance: the card with "Adjust balance", and the ledger.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterSelect } from "@/components/filters";
import { Field, useApiMutation } from "@/components/form";
import { QueryError, TitledCard } from "@/components/page";
import { IdLink, ShortId } from "@/components/refs";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Input, Textarea } from "@rustbill/ui/input";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import type { BalanceTransactionInfo } from "@/gen/rustbill/balance/balance_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { fromCents, toCents } from "@/lib/money";
import { formatMoney } from "@rustbill/ui/utils";
import { SignedAmount, useSubList } from "./shared";

const TRANSACTION_TYPES = ["recharge", "payment", "refund", "manual_adjust"] as const;

export function BalanceCard({ customer }: { customer: CustomerInfo }) {
  const { t } = useTranslation("customers");
  const isAdmin = useIsAdmin();
  const balance = useQuery({
    queryKey: ["customers", "balance", customer.id],
    queryFn: () => api.balance.getBalance({ customerId: customer.id }),
  });
  return (
    <TitledCard
      title={t("balance.title")}
      contentClassName="grid gap-3"
      actions={
        isAdmin && balance.data ? (
          <AdjustBalanceDialog customer={customer} balance={balance.data.balance} creditLimit={balance.data.creditLimit} />
        ) : null
      }
    >
      {balance.error ? (
        <QueryError error={balance.error} />
      ) : (
        <>
          <div>
            <div className="text-xs text-muted-foreground">{t("balance.current")}</div>
            <div className="font-mono text-3xl font-semibold tabular-nums" data-testid="customer-balance">
              {balance.data ? formatMoney(balance.data.balance) : "…"}
            </div>
          </div>
          <div className="text-sm">
            <span className="text-muted-foreground">{t("field.creditLimit")}: </span>
            <span className="font-mono tabular-nums">{balance.data ? formatMoney(balance.data.creditLimit) : "…"}</span>
          </div>
          <p className="text-xs text-muted-foreground">{t("balance.floorHint")}</p>
          {!isAdmin ? <p className="text-xs text-muted-foreground">{t("balance.adminOnly")}</p> : null}
        </>
      )}
    </TitledCard>
  );
}

/** Credit or debit by hand (admin only): signed amount, a reason, then a confirmation. */
function AdjustBalanceDialog({ customer, balance, creditLimit }: { customer: CustomerInfo; balance: string; creditLimit: string }) {
  const { t } = useTranslation("customers");
  const [open, setOpen] = React.useState(false);
  const [amount, setAmount] = React.useState("");
  const [reason, setReason] = React.useState("");
  const adjust = useApiMutation(
    (input: { amount: string; description: string }) =>
      api.balance.adjustBalance({ customerId: customer.id, amount: input.amount, description: input.description }),
    {
      invalidate: [["customers"]],
      successMessage: t("balance.adjusted"),
      onSuccess: () => setOpen(false),
    },
  );
  const cents = toCents(amount);
  const current = toCents(balance);
  const floor = toCents(creditLimit);
  const after = cents !== null && current !== null ? current + cents : null;
  const belowFloor = after !== null && floor !== null && after < -floor;
  const amountInvalid = amount.trim() !== "" && (cents === null || cents === 0n);
  const ready = cents !== null && cents !== 0n && reason.trim() !== "";
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button
        size="sm"
        onClick={() => {
          setAmount("");
          setReason("");
          adjust.setErrors({});
          setOpen(true);
        }}
      >
        {t("balance.adjust")}
      </Button>
      <DialogContent title={t("balance.adjust")} description={t("balance.adjustDescription", { name: customer.name })}>
        <form className="grid gap-4" onSubmit={(event) => event.preventDefault()}>
          <Field label={t("balance.amount")} htmlFor="adjust-amount" error={amountInvalid ? t("balance.amountInvalid") : adjust.errors.amount} hint={t("balance.amountHint")}>
            <Input
              id="adjust-amount"
              inputMode="decimal"
              autoComplete="off"
              placeholder="100.00 / -20.50"
              aria-invalid={amountInvalid || !!adjust.errors.amount}
              value={amount}
              onChange={(event) => setAmount(event.target.value)}
            />
          </Field>
          <Field label={t("balance.reason")} htmlFor="adjust-reason" error={adjust.errors.description} hint={t("balance.reasonHint")}>
            <Textarea
              id="adjust-reason"
              maxLength={500}
              aria-invalid={!!adjust.errors.description}
              value={reason}
              onChange={(event) => setReason(event.target.value)}
            />
          </Field>
          {after !== null ? (
            <p className="text-sm">
              {t("balance.preview", { before: balance, after: fromCents(after) })}
              {belowFloor ? <span className="block text-destructive">{t("balance.belowFloor", { floor: fromCents(-floor!) })}</span> : null}
            </p>
          ) : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setOpen(false)}>
              {t("action.cancel", { ns: "common" })}
            </Button>
            <ConfirmButton
              destructive={cents !== null && cents < 0n}
              disabled={!ready || adjust.isPending}
              title={t("balance.confirmTitle")}
              description={t(cents !== null && cents < 0n ? "balance.confirmDebit" : "balance.confirmCredit", {
                amount: cents === null ? "" : fromCents(cents < 0n ? -cents : cents),
                name: customer.name,
                after: after === null ? "" : fromCents(after),
                reason: reason.trim(),
              })}
              confirmLabel={t("balance.confirm")}
              onConfirm={() => adjust.mutate({ amount: fromCents(cents!), description: reason.trim() })}
            >
              {t("balance.apply")}
            </ConfirmButton>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

/** The ledger (ListBalanceTransactions), newest first, server-paged. */
export function LedgerTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const list = useSubList("ledger");
  const type = list.filter("type");
  const query = useQuery({
    queryKey: ["customers", "ledger", customerId, list.page, list.pageSize, type],
    queryFn: () => api.balance.listBalanceTransactions({ customerId, pagination: list.pageRequest, transactionType: type }),
    placeholderData: keepPreviousData,
  });
  const columns: Column<BalanceTransactionInfo>[] = [
    timeColumn("time", t("ledger.time"), (row) => row.createdAt),
    { key: "type", header: t("ledger.type"), cell: (row) => <Badge tone={row.transactionType === "manual_adjust" ? "yellow" : "neutral"}>{t(`ledger.types.${row.transactionType}`, { defaultValue: row.transactionType })}</Badge> },
    { key: "amount", header: t("ledger.amount"), className: "text-right", cell: (row) => <SignedAmount amount={row.amount} /> },
    { key: "before", header: t("ledger.before"), className: "text-right", cell: (row) => <span className="font-mono tabular-nums">{row.balanceBefore || "—"}</span> },
    { key: "after", header: t("ledger.after"), className: "text-right", cell: (row) => <span className="font-mono tabular-nums">{row.balanceAfter}</span> },
    {
      key: "reference",
      header: t("ledger.reference"),
      cell: (row) =>
        !row.referenceId ? (
          "—"
        ) : row.transactionType === "payment" || row.transactionType === "recharge" ? (
          <IdLink to={`/payments/${row.referenceId}`} id={row.referenceId} />
        ) : (
          <ShortId id={row.referenceId} />
        ),
    },
    { key: "description", header: t("ledger.description"), cell: (row) => <span className="whitespace-pre-wrap">{row.description || "—"}</span> },
  ];
  return (
    <div className="grid gap-3">
      <FilterSelect
        id="ledger-type"
        className="w-48"
        label={t("ledger.type")}
        value={type}
        onChange={(value) => list.setFilter("type", value)}
        options={TRANSACTION_TYPES.map((value) => [value, t(`ledger.types.${value}`)])}
      />
      <DataTable
        columns={columns}
        rows={query.data?.transactions}
        rowKey={(row) => row.id}
        meta={query.data?.meta}
        loading={query.isPending}
        error={query.error}
        paging={list}
      />
    </div>
  );
}
