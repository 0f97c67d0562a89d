import * as React from "react";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes } from "react-router";
import { ArrowLeft } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Badge, Card, CardContent, CardHeader, CardTitle, type Tone } from "@rustbill/ui/card";
import { TD, TR } from "@rustbill/ui/table";
import { cn } from "@rustbill/ui/utils";
import { errorMessage } from "@/lib/api";

/** The routes of an area that is one page (its default export). */
export function SinglePageArea({ page }: { page: React.ReactNode }) {
  return (
    <Routes>
      <Route index element={page} />
    </Routes>
  );
}

/**
 * Title row of a page, with its actions on the right. `badge` (a record's
 * status) stands in the heading after the title.
 */
export function PageHeader({
  title,
  badge,
  description,
  actions,
}: {
  title: React.ReactNode;
  badge?: React.ReactNode;
  description?: React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">
          {badge ? (
            <span className="flex flex-wrap items-center gap-3">
              {title}
              {badge}
            </span>
          ) : (
            title
          )}
        </h1>
        {description ? <p className="text-sm text-muted-foreground">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/**
 * "Back to the list": a quiet text link above a page (`link`), or a button
 * among its actions (`outline`; `ghost` is the small quiet one).
 */
export function BackLink({ to, variant = "link", children }: { to: string; variant?: "link" | "outline" | "ghost"; children: React.ReactNode }) {
  if (variant === "link") {
    return (
      <Link to={to} className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" />
        {children}
      </Link>
    );
  }
  return (
    <Button asChild variant={variant} size={variant === "ghost" ? "sm" : "default"}>
      <Link to={to}>
        <ArrowLeft />
        {children}
      </Link>
    </Button>
  );
}

/** "Loading…" in place of content that has not arrived. */
export function Loading() {
  const { t } = useTranslation();
  return <p className="text-sm text-muted-foreground">{t("loading")}</p>;
}

/**
 * A record's page while its query runs: the error, "Loading…", `notFound`
 * when the server answered without the record, else `children(record)`.
 */
export function LoadedRecord<T>({
  query,
  notFound,
  children,
}: {
  query: { error: unknown; isPending: boolean; data: T | null | undefined };
  notFound?: React.ReactNode;
  children: (record: T) => React.ReactNode;
}) {
  const { t } = useTranslation();
  if (query.error) return <QueryError error={query.error} />;
  if (query.isPending) return <Loading />;
  if (!query.data) return notFound ?? <p className="text-sm text-muted-foreground">{t("notFound")}</p>;
  return children(query.data);
}

/** A titled card: the sections of detail pages and forms. `actions` sit right of the title, `description` under it. */
export function TitledCard({
  title,
  description,
  actions,
  className,
  contentClassName,
  children,
}: {
  title: React.ReactNode;
  description?: React.ReactNode;
  actions?: React.ReactNode;
  className?: string;
  contentClassName?: string;
  children: React.ReactNode;
}) {
  return (
    <Card className={className}>
      <CardHeader className={actions ? "flex-row items-center justify-between gap-2" : undefined}>
        <CardTitle>{title}</CardTitle>
        {description ? <p className="text-sm text-muted-foreground">{description}</p> : null}
        {actions}
      </CardHeader>
      <CardContent className={contentClassName}>{children}</CardContent>
    </Card>
  );
}

/** One full-width table row with a note instead of data ("Loading…", "Nothing here"). */
export function TableMessage({ colSpan, className, children }: { colSpan: number; className?: string; children: React.ReactNode }) {
  return (
    <TR>
      <TD colSpan={colSpan} className={cn("text-center text-muted-foreground", className)}>
        {children}
      </TD>
    </TR>
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
  sent: "green", parked: "red", skipped: "neutral",
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
