// The operation log entries about one record (refunds, status changes,
// notes...), newest first, from SystemService.ListOperationLogs.
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { QueryError } from "@/components/page";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";

/** Query key of a record's activity; `area` is the owning area (its invalidations refresh it). */
export function activityKey(area: string, targetType: string, targetId: string) {
  return [area, "activity", targetType, targetId] as const;
}

function describe(detailJson: string): string {
  try {
    const detail = JSON.parse(detailJson) as Record<string, unknown>;
    return Object.entries(detail)
      .filter(([, value]) => value !== null && value !== "" && value !== undefined)
      .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
      .join(", ");
  } catch {
    return detailJson;
  }
}

export function ActivityLog({ area, targetType, targetId }: { area: string; targetType: string; targetId: string }) {
  const { t, i18n } = useTranslation("payments");
  const logs = useQuery({
    queryKey: activityKey(area, targetType, targetId),
    queryFn: () => api.system.listOperationLogs({ page: { page: 1, pageSize: 50 }, targetType, targetId }),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("activity.title")}</CardTitle>
      </CardHeader>
      <CardContent>
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
                <TR>
                  <TD colSpan={4} className="text-center text-muted-foreground">
                    {t("loading", { ns: "common" })}
                  </TD>
                </TR>
              ) : logs.data.logs.length === 0 ? (
                <TR>
                  <TD colSpan={4} className="text-center text-muted-foreground">
                    {t("activity.empty")}
                  </TD>
                </TR>
              ) : (
                logs.data.logs.map((log) => (
                  <TR key={log.id}>
                    <TD className="whitespace-nowrap">{formatDateTime(log.createdAt, i18n.language)}</TD>
                    <TD>{log.actorLabel || log.actorKind}</TD>
                    <TD>{t(`activity.actions.${log.action}`, { defaultValue: log.action })}</TD>
                    <TD className="break-all text-xs text-muted-foreground">{describe(log.detailJson)}</TD>
                  </TR>
                ))
              )}
            </TBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
