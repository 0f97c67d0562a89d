// The operation log entries about one record (status changes, refunds,
// edits...), newest first, from SystemService.ListOperationLogs.
import type * as React from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { formatDateTime } from "@rustbill/ui/utils";
import { QueryError, TableMessage, TitledCard } from "@/components/page";
import { Mono } from "@/components/refs";
import { api } from "@/lib/api";

function describe(value: unknown): string {
  if (value && typeof value === "object" && "from" in value && "to" in value) {
    return `${String(value.from)} → ${String(value.to)}`;
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The detail JSON of a log entry as "key: value" lines (empty values left out). */
function detailLines(detailJson: string): string[] {
  try {
    const detail: unknown = JSON.parse(detailJson || "{}");
    if (detail && typeof detail === "object" && !Array.isArray(detail)) {
      return Object.entries(detail)
        .filter(([, value]) => value !== null && value !== undefined && value !== "")
        .map(([key, value]) => `${key}: ${describe(value)}`);
    }
    return [detailJson];
  } catch {
    return [detailJson];
  }
}

/**
 * The activity of one record. Its query is keyed under `area`, the owning
 * area's key, so that the area's changes refresh it. `actionLabel` names
 * the actions the area knows (the raw action otherwise).
 */
export function ActivityCard({
  area,
  targetType,
  targetId,
  actionLabel,
}: {
  area: string;
  targetType: string;
  targetId: string;
  actionLabel?: (action: string) => React.ReactNode;
}) {
  const { t, i18n } = useTranslation();
  const logs = useQuery({
    queryKey: [area, "activity", targetType, targetId],
    queryFn: () => api.system.listOperationLogs({ targetType, targetId, page: { page: 1, pageSize: 50 } }),
  });
  return (
    <TitledCard title={t("activity.title")} contentClassName="grid gap-2">
      {logs.data?.unavailable.length ? (
        <p className="text-xs text-muted-foreground">{t("activity.unavailable", { services: logs.data.unavailable.join(", ") })}</p>
      ) : null}
      {logs.error ? (
        <QueryError error={logs.error} />
      ) : (
        <Table>
          <THead>
            <TR>
              <TH>{t("activity.time")}</TH>
              <TH>{t("activity.actor")}</TH>
              <TH>{t("activity.action")}</TH>
              <TH>{t("activity.detail")}</TH>
            </TR>
          </THead>
          <TBody>
            {logs.isPending ? (
              <TableMessage colSpan={4}>{t("loading")}</TableMessage>
            ) : logs.data.logs.length === 0 ? (
              <TableMessage colSpan={4}>{t("activity.none")}</TableMessage>
            ) : (
              logs.data.logs.map((log) => (
                <TR key={log.id}>
                  <TD className="whitespace-nowrap">{formatDateTime(log.createdAt, i18n.language)}</TD>
                  <TD>{log.actorLabel || log.actorKind}</TD>
                  <TD>{actionLabel ? actionLabel(log.action) : <Mono>{log.action}</Mono>}</TD>
                  <TD className="text-xs text-muted-foreground">
                    {detailLines(log.detailJson).map((line) => (
                      <div key={line} className="break-all">
                        {line}
                      </div>
                    ))}
                  </TD>
                </TR>
              ))
            )}
          </TBody>
        </Table>
      )}
    </TitledCard>
  );
}
