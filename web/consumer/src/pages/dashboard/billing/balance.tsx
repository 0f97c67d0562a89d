// The customer's balance: balance, credit limit and what is available, the
// ledger (paged, filtered by type), and a recharge through a gateway that
// the page follows until the money arrives.
import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input, Label } from "@rustbill/ui/input";
import { cn, formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { api, fieldErrors } from "@/lib/api";
import { FilterSelect, Pager, QueryBody, QueryError, useListParams, RowList } from "../orders/parts";
import { PayCard, PaymentInfoView, type PaymentView } from "../orders/payment";

const TYPES = ["recharge", "payment", "refund", "manual_adjust"] as const;
const CURRENCY = "CNY";
/** A positive amount with at most two decimals. */
const AMOUNT = /^(?:0|[1-9]\d{0,8})(?:\.\d{1,2})?$/;

export default function BalancePage() {
  const { t } = useTranslation("billing");
  const [recharging, setRecharging] = React.useState(false);
  const balance = useQuery({
    queryKey: ["balance", "own"],
    queryFn: () => api.balance.getBalance({}),
    // Follow a started recharge until the money arrives.
    refetchInterval: recharging ? 3000 : false,
  });
  const current = balance.data?.balance;
  const previous = React.useRef<string | undefined>(undefined);
  React.useEffect(() => {
    if (recharging && previous.current !== undefined && current !== undefined && current !== previous.current) {
      setRecharging(false);
      toast.success(t("balance.recharge.credited", { amount: formatMoney(current, CURRENCY) }));
    }
    if (!recharging) previous.current = current;
  }, [current, recharging, t]);

  return (
    <div className="grid gap-4">
      <h1 className="text-2xl font-semibold">{t("balance.title")}</h1>
      {balance.isError ? (
        <QueryError error={balance.error} onRetry={() => void balance.refetch()} />
      ) : (
        <div className="grid gap-4 sm:grid-cols-3">
          <Figure label={t("balance.balance")} testId="balance-amount" value={balance.data?.balance} strong />
          <Figure label={t("balance.creditLimit")} value={balance.data?.creditLimit} />
          <Figure
            label={t("balance.available")}
            value={balance.data ? (Number(balance.data.balance) + Number(balance.data.creditLimit)).toFixed(2) : undefined}
          />
        </div>
      )}
      <Recharge onStarted={() => setRecharging(true)} />
      <Ledger refreshKey={current} />
    </div>
  );
}

function Figure({ label, value, testId, strong }: { label: string; value?: string; testId?: string; strong?: boolean }) {
  return (
    <Card>
      <CardContent className="grid gap-1 pt-6">
        <span className="text-sm text-muted-foreground">{label}</span>
        <span data-testid={testId} className={cn("tabular-nums", strong ? "text-2xl font-semibold" : "text-lg")}>
          {value === undefined ? "…" : formatMoney(value, CURRENCY)}
        </span>
      </CardContent>
    </Card>
  );
}

function Recharge({ onStarted }: { onStarted: () => void }) {
  const { t } = useTranslation("billing");
  const [amount, setAmount] = React.useState("");
  const [error, setError] = React.useState("");
  const [payment, setPayment] = React.useState<PaymentView | undefined>();
  return (
    <div className="grid gap-4">
      <PayCard
        title={t("balance.recharge.title")}
        amount=""
        currency={CURRENCY}
        allowBalance={false}
        submitLabel={t("balance.recharge.submit")}
        pay={async (gatewayInterfaceId) => {
          const value = amount.trim();
          if (!AMOUNT.test(value) || Number(value) <= 0) {
            setError(t("balance.recharge.invalid"));
            throw new Error(t("balance.recharge.invalid"));
          }
          setError("");
          try {
            const started = await api.balance.recharge({ amount: value, gatewayInterfaceId, returnUrl: window.location.href });
            setPayment(started);
            onStarted();
          } catch (failure) {
            const fields = fieldErrors(failure);
            if (fields.amount) setError(fields.amount);
            throw failure;
          }
        }}
      >
        <p className="basis-full text-sm text-muted-foreground">{t("balance.recharge.hint")}</p>
        <div className="grid w-40 gap-1.5">
          <Label htmlFor="recharge-amount">{t("balance.recharge.amount")}</Label>
          <Input
            id="recharge-amount"
            type="text"
            inputMode="decimal"
            autoComplete="off"
            value={amount}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "recharge-amount-error" : undefined}
            onChange={(event) => {
              setAmount(event.target.value);
              setError("");
            }}
          />
          {error ? (
            <p id="recharge-amount-error" role="alert" className="text-xs text-destructive">
              {error}
            </p>
          ) : null}
        </div>
      </PayCard>
      {payment ? <PaymentInfoView payment={payment} /> : null}
    </div>
  );
}

function Ledger({ refreshKey }: { refreshKey?: string }) {
  const { t, i18n } = useTranslation("billing");
  const list = useListParams(["type"] as const);
  const ledger = useQuery({
    queryKey: ["balance", "ledger", list.page, list.filters, refreshKey],
    queryFn: () => api.balance.listBalanceTransactions({ pagination: list.pagination, transactionType: list.filters.type }),
    placeholderData: keepPreviousData,
  });
  const columns = "md:grid-cols-[10rem_7rem_8rem_8rem_1fr]";
  return (
    <Card>
      <CardHeader className="flex flex-row flex-wrap items-end justify-between gap-3">
        <CardTitle>{t("balance.ledger")}</CardTitle>
        <FilterSelect
          id="ledger-type"
          label={t("balance.filter.type")}
          allLabel={t("balance.filter.all")}
          value={list.filters.type}
          values={TYPES}
          optionLabel={(type) => t(`balance.type.${type}`)}
          onChange={(type) => list.setFilter("type", type)}
        />
      </CardHeader>
      <CardContent className="grid gap-3">
        <QueryBody query={ledger} isEmpty={(data) => data.transactions.length === 0} empty={t("balance.empty")}>
          {(data) => (
          <>
            <RowList
              columns={columns}
              header={
                <>
                <span>{t("balance.field.time")}</span>
                <span>{t("balance.field.type")}</span>
                <span className="text-right">{t("balance.field.amount")}</span>
                <span className="text-right">{t("balance.field.after")}</span>
                <span className="md:pl-4">{t("balance.field.description")}</span>
                </>
              }
            >
              {data.transactions.map((entry) => {
                const credit = !entry.amount.startsWith("-");
                return (
                  <li
                    key={entry.id}
                    data-row-key={entry.id}
                    className={`grid grid-cols-2 gap-x-3 gap-y-1 rounded-lg border p-3 text-sm md:items-center md:rounded-none md:border-0 md:border-t md:py-2 ${columns}`}
                  >
                    <span className="text-xs text-muted-foreground md:text-sm">{formatDateTime(entry.createdAt, i18n.language)}</span>
                    <span className="justify-self-end md:justify-self-start">
                      {t(`balance.type.${entry.transactionType}`, { defaultValue: entry.transactionType })}
                    </span>
                    <span className={cn("font-medium tabular-nums md:text-right", credit ? "text-green-600 dark:text-green-400" : "text-destructive")}>
                      {credit ? "+" : ""}
                      {formatMoney(entry.amount, CURRENCY)}
                    </span>
                    <span className="justify-self-end tabular-nums text-muted-foreground md:text-right">{formatMoney(entry.balanceAfter, CURRENCY)}</span>
                    <span className="col-span-2 break-words text-muted-foreground md:col-span-1 md:pl-4">{entry.description || "--"}</span>
                  </li>
                );
              })}
            </RowList>
            <Pager meta={data.meta} onPage={list.setPage} />
          </>
          )}
        </QueryBody>
      </CardContent>
    </Card>
  );
}
