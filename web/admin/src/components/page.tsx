import * as React from "react";
import { useTranslation } from "react-i18next";
import { Badge, type Tone } from "@rustbill/ui/card";
import { errorMessage } from "@/lib/api";

/** Title row of a page, with its actions on the right. */
export function PageHeader({ title, description, actions }: { title: React.ReactNode; description?: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {description ? <p className="text-sm text-muted-foreground">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/** The error of a failed query, in place of its content. */
export function QueryError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive">
      {t("loadFailed")}: {errorMessage(error)}
    </div>
  );
}

const STATUS_TONES: Record<string, Tone> = {
  active: "green", running: "green", success: "green", paid: "green", healthy: "green", resolved: "green", enabled: "green", closed_ok: "green",
  pending: "yellow", pending_payment: "yellow", provisioning: "yellow", processing: "yellow", issued: "yellow", draft: "neutral", open: "blue",
  suspended: "red", failed: "red", cancelled: "neutral", terminated: "neutral", refunded: "blue", overdue: "red", unhealthy: "red", disabled: "neutral", closed: "neutral",
};

/** A status word from the API, coloured, translated in the "status" namespace when known. */
export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation("status");
  return (
    <Badge tone={STATUS_TONES[status] ?? "neutral"} data-status={status}>
      {t(status, { defaultValue: status })}
    </Badge>
  );
}

/** A definition list of label/value pairs (detail pages). */
export function Details({ items }: { items: [React.ReactNode, React.ReactNode][] }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
      {items.map(([label, value], index) => (
        <React.Fragment key={index}>
          <dt className="text-muted-foreground">{label}</dt>
          <dd className="break-all">{value === "" || value === undefined || value === null ? "—" : value}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}
