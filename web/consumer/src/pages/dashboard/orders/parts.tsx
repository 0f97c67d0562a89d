// Small building blocks shared by the orders, instances and overview pages:
// URL-backed paging and filters, status badges, a pager, error and empty
// states (and a list query's states in one), a copy button and a confirmation dialog.
import * as React from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Badge, type Tone } from "@rustbill/ui/card";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Label, Select } from "@rustbill/ui/input";
import type { PageMeta } from "@/gen/rustbill/common/common_pb";
import { errorMessage } from "@/lib/api";

export const PAGE_SIZE = 20;

/** Page number and filters kept in the URL's query string. */
export function useListParams<F extends string>(filterNames: readonly F[]) {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const filters = Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ""])) as Record<F, string>;
  const update = (changes: Record<string, string>) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(changes)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  return {
    page,
    filters,
    pagination: { page, pageSize: PAGE_SIZE },
    setPage: (next: number) => update({ page: next > 1 ? String(next) : "" }),
    setFilter: (name: F, value: string) => update({ [name]: value, page: "" }),
  };
}

const ORDER_TONES: Record<string, Tone> = {
  pending: "yellow",
  provisioning: "yellow",
  suspended: "yellow",
  paid: "green",
  active: "green",
  completed: "green",
  cancelled: "red",
  terminated: "red",
  refunded: "neutral",
};

const INSTANCE_TONES: Record<string, Tone> = {
  running: "green",
  active: "green",
  provisioning: "blue",
  stopped: "neutral",
  suspended: "yellow",
  terminated: "red",
  error: "red",
};

const PAYMENT_TONES: Record<string, Tone> = {
  pending: "yellow",
  success: "green",
  failed: "red",
  refunded: "neutral",
};

const INVOICE_TONES: Record<string, Tone> = {
  draft: "neutral",
  issued: "yellow",
  overdue: "red",
  paid: "green",
  cancelled: "neutral",
};

const TONES = { order: ORDER_TONES, instance: INSTANCE_TONES, payment: PAYMENT_TONES, invoice: INVOICE_TONES };

/** A coloured status word; unknown values are shown raw with a neutral badge. */
export function StatusBadge({ kind, status }: { kind: keyof typeof TONES; status: string }) {
  const { t } = useTranslation("orders");
  return (
    <Badge tone={TONES[kind][status] ?? "neutral"}>
      {t(`${kind}Status.${status}`, { defaultValue: status || "--" })}
    </Badge>
  );
}

/** Previous/next page buttons with "page x of y". */
export function Pager({ meta, onPage }: { meta: PageMeta | undefined; onPage: (page: number) => void }) {
  const { t } = useTranslation("orders");
  if (!meta) return null;
  const pages = Math.max(1, meta.totalPages);
  return (
    <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-muted-foreground">
      <span>{t("pager.summary", { total: meta.total.toString(), page: meta.page || 1, pages })}</span>
      <div className="flex gap-2">
        <Button variant="outline" size="sm" disabled={meta.page <= 1} onClick={() => onPage(meta.page - 1)}>
          {t("pager.previous")}
        </Button>
        <Button variant="outline" size="sm" disabled={meta.page >= pages} onClick={() => onPage(meta.page + 1)}>
          {t("pager.next")}
        </Button>
      </div>
    </div>
  );
}

/** A failed call, with the server's message and a retry button. */
export function QueryError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="flex flex-wrap items-center gap-3 rounded-lg border border-destructive/40 p-4 text-sm">
      <span className="font-medium text-destructive">{t("loadFailed")}</span>
      <span className="text-muted-foreground">{errorMessage(error)}</span>
      {onRetry ? (
        <Button variant="outline" size="sm" onClick={onRetry}>
          {t("action.refresh")}
        </Button>
      ) : null}
    </div>
  );
}

/**
 * Rows that are a table on a wide screen and stacked cards on a phone:
 * `header` (the column titles, hidden on a phone) laid out by `columns`
 * (the `md:grid-cols-[…]` class the rows use too), then the rows.
 */
export function RowList({ columns, header, children }: { columns: string; header: React.ReactNode; children: React.ReactNode }) {
  return (
    <ul className="grid gap-2 md:gap-0 md:overflow-hidden md:rounded-lg md:border">
      <li className={`hidden gap-x-3 bg-muted/50 px-3 py-2 text-xs font-medium text-muted-foreground md:grid ${columns}`} aria-hidden>
        {header}
      </li>
      {children}
    </ul>
  );
}

/**
 * A labelled filter of a list: "all" (empty) or one of `values`, each shown
 * as `label(value)`; the choice lives in the URL through `onChange`.
 */
export function FilterSelect({
  id,
  label,
  allLabel,
  value,
  values,
  optionLabel,
  onChange,
}: {
  id: string;
  label: string;
  allLabel: string;
  value: string;
  values: readonly string[];
  optionLabel: (value: string) => string;
  onChange: (value: string) => void;
}) {
  return (
    <div className="grid gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      <Select id={id} className="w-44" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{allLabel}</option>
        {values.map((option) => (
          <option key={option} value={option}>
            {optionLabel(option)}
          </option>
        ))}
      </Select>
    </div>
  );
}

/**
 * A list query's four states: the error with a retry, loading, the empty
 * text, or `children` with the data.
 */
export function QueryBody<T>({
  query,
  isEmpty,
  empty,
  children,
}: {
  query: UseQueryResult<T>;
  isEmpty: (data: T) => boolean;
  empty: React.ReactNode;
  children: (data: T) => React.ReactNode;
}) {
  const { t } = useTranslation();
  if (query.isError) return <QueryError error={query.error} onRetry={() => void query.refetch()} />;
  if (query.isPending) return <p className="text-sm text-muted-foreground">{t("loading")}</p>;
  if (isEmpty(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="rounded-lg border border-dashed p-6 text-center text-sm text-muted-foreground">{children}</p>;
}

/** The first 8 characters of a UUID, as customers see order numbers. */
export function shortId(id: string) {
  return id.slice(0, 8);
}

export function CopyButton({ value, label }: { value: string; label?: string }) {
  const { t } = useTranslation("orders");
  return (
    <Button
      variant="outline"
      size="sm"
      onClick={() =>
        void navigator.clipboard.writeText(value).then(
          () => toast.success(t("copied")),
          () => toast.error(t("copyFailed")),
        )
      }
    >
      {label ?? t("copy")}
    </Button>
  );
}

/** A dialog asking to confirm `title`; `onConfirm` runs on the explicit confirm button. */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  destructive,
  pending,
  onConfirm,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: string;
  confirmLabel: string;
  destructive?: boolean;
  pending?: boolean;
  onConfirm: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={title} description={description}>
        <DialogFooter>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            {t("action.cancel")}
          </Button>
          <Button variant={destructive ? "destructive" : "default"} disabled={pending} onClick={onConfirm}>
            {confirmLabel}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

/** A labelled value in a definition list. */
export function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-0.5">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="break-all text-sm">{children === "" || children == null ? "--" : children}</dd>
    </div>
  );
}
