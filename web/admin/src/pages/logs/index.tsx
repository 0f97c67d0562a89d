// The operation log: every service's admin mutations merged, newest first,
// filtered and paged on the server; a row expands to its detail JSON.
import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { AlertTriangle, ChevronDown, ChevronLeft, ChevronRight, Filter } from "lucide-react";
import type { OperationLog } from "@/gen/rustbill/system/system_pb";
import { PageHeader, QueryError, SinglePageArea, TableMessage } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Input, Label, Select } from "@rustbill/ui/input";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { api } from "@/lib/api";
import { PAGE_SIZES, useListQuery, useListState, type ListState } from "@/lib/list";
import { cn, formatDateTime } from "@rustbill/ui/utils";

const FILTERS = ["service", "action", "actor", "target_type", "target_id", "since", "until"] as const;
type FilterName = (typeof FILTERS)[number];

/** Services that keep an operation log (system.proto ListOperationLogsRequest.service). */
const SERVICES = ["identity", "catalog", "orders", "payments", "plugins", "notify"] as const;

/** Detail pages of the record kinds the log names. */
const TARGET_PATHS: Record<string, string> = {
  order: "/orders",
  instance: "/instances",
  invoice: "/invoices",
  payment: "/payments",
  customer: "/customers",
  ticket: "/tickets",
  product: "/products",
  plugin_interface: "/plugins/interfaces",
};

export default function LogsArea() {
  return <SinglePageArea page={<OperationLogPage />} />;
}

/** An RFC 3339 time as a datetime-local value in the browser's zone. */
function toLocalInput(value: string): string {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A datetime-local value (browser's zone) as RFC 3339 UTC. */
function fromLocalInput(value: string): string {
  const date = new Date(value);
  return !value || Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function prettyJson(text: string): string {
  if (!text) return "{}";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function OperationLogPage() {
  const { t } = useTranslation("logs");
  const list = useListState(FILTERS, 50);
  const { filters } = list;
  const logs = useListQuery(["logs"], list, (page) =>
    api.system.listOperationLogs({
      page,
      service: filters.service,
      action: filters.action,
      actor: filters.actor,
      targetType: filters.target_type,
      targetId: filters.target_id,
      since: filters.since,
      until: filters.until,
    }),
  );
  const meta = logs.data?.page;
  return (
    <div className="grid gap-4">
      <PageHeader title={t("title")} description={t("subtitle")} />
      <FilterForm key={JSON.stringify(filters)} list={list} />
      {logs.data && logs.data.unavailable.length > 0 ? (
        <div
          role="status"
          className="flex items-start gap-2 rounded-md border border-yellow-500/40 bg-yellow-500/10 p-3 text-sm text-yellow-800 dark:text-yellow-300"
        >
          <AlertTriangle className="mt-0.5 size-4 shrink-0" />
          <span>{t("unavailable", { services: logs.data.unavailable.join(", ") })}</span>
        </div>
      ) : null}
      {logs.error ? (
        <QueryError error={logs.error} />
      ) : (
        <div className={cn("grid gap-3", logs.isFetching && logs.isPlaceholderData && "opacity-60")}>
          <LogTable rows={logs.data?.logs} loading={logs.isPending} onFilter={list.setFilters} />
          {meta ? <Pager list={list} total={Number(meta.total)} page={meta.page} totalPages={meta.totalPages} /> : null}
          {meta && Number(meta.total) >= 10_000 ? <p className="text-xs text-muted-foreground">{t("cap")}</p> : null}
        </div>
      )}
    </div>
  );
}

/** Text filters apply on submit; the service applies at once. */
function FilterForm({ list }: { list: ListState<FilterName> }) {
  const { t } = useTranslation("logs");
  const [draft, setDraft] = React.useState({
    action: list.filters.action,
    actor: list.filters.actor,
    target_type: list.filters.target_type,
    target_id: list.filters.target_id,
    since: toLocalInput(list.filters.since),
    until: toLocalInput(list.filters.until),
  });
  const set = (name: keyof typeof draft) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setDraft((current) => ({ ...current, [name]: event.target.value }));
  const any = FILTERS.some((name) => list.filters[name]);
  const text = (name: "action" | "actor" | "target_type" | "target_id", placeholder?: string) => (
    <div className="grid gap-1.5">
      <Label htmlFor={`log-filter-${name}`}>{t(`field.${name}`)}</Label>
      <Input id={`log-filter-${name}`} value={draft[name]} placeholder={placeholder} onChange={set(name)} />
    </div>
  );
  return (
    <form
      className="grid gap-3 rounded-lg border bg-card p-4 sm:grid-cols-2 lg:grid-cols-4"
      onSubmit={(event) => {
        event.preventDefault();
        list.setFilters({
          action: draft.action.trim(),
          actor: draft.actor.trim(),
          target_type: draft.target_type.trim(),
          target_id: draft.target_id.trim(),
          since: fromLocalInput(draft.since),
          until: fromLocalInput(draft.until),
        });
      }}
    >
      <div className="grid gap-1.5">
        <Label htmlFor="log-filter-service">{t("field.service")}</Label>
        <Select id="log-filter-service" value={list.filters.service} onChange={(event) => list.setFilter("service", event.target.value)}>
          <option value="">{t("all", { ns: "common" })}</option>
          {SERVICES.map((service) => (
            <option key={service} value={service}>
              {t(`service.${service}`)}
            </option>
          ))}
        </Select>
      </div>
      {text("action", t("placeholder.action"))}
      {text("actor", t("placeholder.actor"))}
      {text("target_type", t("placeholder.target_type"))}
      {text("target_id")}
      <div className="grid gap-1.5">
        <Label htmlFor="log-filter-since">{t("field.since")}</Label>
        <Input id="log-filter-since" type="datetime-local" value={draft.since} onChange={set("since")} />
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor="log-filter-until">{t("field.until")}</Label>
        <Input id="log-filter-until" type="datetime-local" value={draft.until} onChange={set("until")} />
      </div>
      <div className="flex items-end gap-2">
        <Button type="submit">{t("action.search", { ns: "common" })}</Button>
        {any ? (
          <Button
            variant="ghost"
            onClick={() => list.setFilters(Object.fromEntries(FILTERS.map((name) => [name, ""])) as Record<FilterName, string>)}
          >
            {t("action.reset", { ns: "common" })}
          </Button>
        ) : null}
      </div>
    </form>
  );
}

function LogTable({
  rows,
  loading,
  onFilter,
}: {
  rows: OperationLog[] | undefined;
  loading: boolean;
  onFilter: (values: Partial<Record<FilterName, string>>) => void;
}) {
  const { t, i18n } = useTranslation("logs");
  const [open, setOpen] = React.useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const columns = 7;
  return (
    <Table>
      <THead>
        <TR>
          <TH className="w-10">
            <span className="sr-only">{t("details")}</span>
          </TH>
          <TH>{t("field.time")}</TH>
          <TH>{t("field.service")}</TH>
          <TH>{t("field.actor")}</TH>
          <TH>{t("field.action")}</TH>
          <TH>{t("field.target")}</TH>
          <TH>{t("field.clientIp")}</TH>
        </TR>
      </THead>
      <TBody>
        {loading && !rows ? (
          <TableMessage colSpan={columns} className="py-8">{t("loading", { ns: "common" })}</TableMessage>
        ) : (rows ?? []).length === 0 ? (
          <TableMessage colSpan={columns} className="py-8">{t("table.empty", { ns: "common" })}</TableMessage>
        ) : (
          rows?.map((log) => {
            const expanded = open.has(log.id);
            const base = TARGET_PATHS[log.targetType];
            return (
              <React.Fragment key={`${log.service}:${log.id}`}>
                <TR data-row-key={log.id} className="cursor-pointer" onClick={() => toggle(log.id)}>
                  <TD>
                    <Button
                      variant="ghost"
                      size="sm"
                      className="h-7 w-7 p-0"
                      aria-expanded={expanded}
                      aria-label={expanded ? t("hideDetails") : t("showDetails")}
                      onClick={(event) => {
                        event.stopPropagation();
                        toggle(log.id);
                      }}
                    >
                      <ChevronDown className={cn("transition-transform", !expanded && "-rotate-90")} />
                    </Button>
                  </TD>
                  <TD className="whitespace-nowrap">{formatDateTime(log.createdAt, i18n.language)}</TD>
                  <TD>{t(`service.${log.service}`, { defaultValue: log.service })}</TD>
                  <TD>
                    <div>{log.actorLabel || "—"}</div>
                    <Badge>{t(`actorKind.${log.actorKind}`, { defaultValue: log.actorKind })}</Badge>
                  </TD>
                  <TD>
                    <code className="text-xs">{log.action}</code>
                  </TD>
                  <TD onClick={(event) => event.stopPropagation()}>
                    {log.targetType ? (
                      <div className="flex items-center gap-1">
                        <div className="min-w-0">
                          <div className="text-xs text-muted-foreground">{t(`targetType.${log.targetType}`, { defaultValue: log.targetType })}</div>
                          {base && log.targetId ? (
                            <Link to={`${base}/${log.targetId}`} className="break-all font-mono text-xs text-primary hover:underline">
                              {log.targetId}
                            </Link>
                          ) : (
                            <span className="break-all font-mono text-xs">{log.targetId}</span>
                          )}
                        </div>
                        {log.targetId ? (
                          <Button
                            variant="ghost"
                            size="sm"
                            className="h-7 w-7 shrink-0 p-0"
                            aria-label={t("onlyTarget")}
                            title={t("onlyTarget")}
                            onClick={() => onFilter({ target_type: log.targetType, target_id: log.targetId })}
                          >
                            <Filter />
                          </Button>
                        ) : null}
                      </div>
                    ) : (
                      "—"
                    )}
                  </TD>
                  <TD className="font-mono text-xs">{log.clientIp || "—"}</TD>
                </TR>
                {expanded ? (
                  <TR className="bg-muted/30 hover:bg-muted/30">
                    <TD colSpan={columns}>
                      <div className="grid gap-3 py-2 lg:grid-cols-[1fr_18rem]">
                        <pre
                          aria-label={t("detail")}
                          className="max-h-96 overflow-auto rounded-md border bg-background p-3 font-mono text-xs"
                        >
                          {prettyJson(log.detailJson)}
                        </pre>
                        <dl className="grid content-start gap-1 text-xs">
                          <dt className="text-muted-foreground">{t("field.logId")}</dt>
                          <dd className="break-all font-mono">{log.id}</dd>
                          <dt className="text-muted-foreground">{t("field.actorId")}</dt>
                          <dd className="break-all font-mono">{log.actorId || "—"}</dd>
                          <dt className="text-muted-foreground">{t("field.requestId")}</dt>
                          <dd className="break-all font-mono">{log.requestId || "—"}</dd>
                          <dt className="text-muted-foreground">{t("field.exactTime")}</dt>
                          <dd className="font-mono">{log.createdAt}</dd>
                        </dl>
                      </div>
                    </TD>
                  </TR>
                ) : null}
              </React.Fragment>
            );
          })
        )}
      </TBody>
    </Table>
  );
}

function Pager({ list, total, page, totalPages }: { list: ListState<FilterName>; total: number; page: number; totalPages: number }) {
  const { t } = useTranslation();
  return (
    <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-muted-foreground">
      <span>{t("table.total", { count: total })}</span>
      <div className="flex items-center gap-2">
        <Select
          aria-label={t("table.pageSize")}
          className="h-8 w-24"
          value={list.pageSize}
          onChange={(event) => list.setPageSize(Number(event.target.value))}
        >
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {t("table.perPage", { count: size })}
            </option>
          ))}
        </Select>
        <Button variant="outline" size="sm" disabled={page <= 1} onClick={() => list.setPage(page - 1)} aria-label={t("table.previous")}>
          <ChevronLeft />
        </Button>
        <span>{t("table.pageOf", { page, pages: Math.max(1, totalPages) })}</span>
        <Button
          variant="outline"
          size="sm"
          disabled={page >= totalPages}
          onClick={() => list.setPage(page + 1)}
          aria-label={t("table.next")}
        >
          <ChevronRight />
        </Button>
      </div>
    </div>
  );
}
