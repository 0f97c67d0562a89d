// Plugin health, running service instances and leader roles.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { RefreshCw } from "lucide-react";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import type { LeaderRole, ServiceInstance } from "@/gen/rustbill/system/system_pb";
import { useApiMutation } from "@/components/form";
import { QueryError, StatusBadge, TableMessage, TitledCard } from "@/components/page";
import { Badge } from "@rustbill/ui/card";
import { Button } from "@rustbill/ui/button";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";

/** "12 seconds ago" / "in 8 seconds" for an RFC 3339 time. */
function useRelative() {
  const { i18n } = useTranslation();
  const format = new Intl.RelativeTimeFormat(i18n.language, { numeric: "auto" });
  return (value: string) => {
    const time = new Date(value).getTime();
    if (!value || Number.isNaN(time)) return "";
    const seconds = Math.round((time - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 60) return format.format(seconds, "second");
    if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
    return format.format(Math.round(seconds / 86400), "day");
  };
}

function Empty({ colSpan }: { colSpan: number }) {
  const { t } = useTranslation();
  return (
    <TableMessage colSpan={colSpan} className="py-6">{t("table.empty")}</TableMessage>
  );
}

/** Unhealthy enabled interfaces first, then the other enabled ones, then disabled. */
function healthOrder(item: PluginInterfaceInfo): number {
  if (!item.enabled) return 2;
  return item.isHealthy ? 1 : 0;
}

export function PluginHealth() {
  const { t, i18n } = useTranslation("dashboard");
  const interfaces = useQuery({
    queryKey: ["dashboard", "plugins"],
    queryFn: async () => (await api.integration.listPluginInterfaces({})).interfaces,
    refetchInterval: 60_000,
  });
  const check = useApiMutation((interfaceId: string) => api.integration.checkPluginHealth({ interfaceId }), {
    invalidate: [["dashboard", "plugins"]],
    successMessage: t("plugins.checked"),
  });
  const rows = [...(interfaces.data ?? [])].sort(
    (a, b) => healthOrder(a) - healthOrder(b) || a.displayName.localeCompare(b.displayName),
  );
  return (
    <TitledCard
      title={t("plugins.title")}
      actions={
        <Link to="/plugins" className="text-sm text-primary hover:underline">
          {t("plugins.manage")}
        </Link>
      }
    >
      {interfaces.error ? (
        <QueryError error={interfaces.error} />
      ) : (
        <Table>
          <THead>
            <TR>
              <TH>{t("plugins.interface")}</TH>
              <TH>{t("plugins.type")}</TH>
              <TH>{t("plugins.enabled")}</TH>
              <TH>{t("plugins.health")}</TH>
              <TH>{t("plugins.lastCheck")}</TH>
              <TH>{t("plugins.error")}</TH>
              <TH />
            </TR>
          </THead>
          <TBody>
            {interfaces.isPending ? (
              <TableMessage colSpan={7} className="py-6">{t("loading", { ns: "common" })}</TableMessage>
            ) : rows.length === 0 ? (
              <Empty colSpan={7} />
            ) : (
              rows.map((item) => {
                const error = item.scriptError || item.healthError;
                return (
                  <TR key={item.id} data-row-key={item.id}>
                    <TD>
                      <Link to={`/plugins/interfaces/${item.id}`} className="font-medium text-primary hover:underline">
                        {item.displayName}
                      </Link>
                      <div className="text-xs text-muted-foreground">
                        {item.pluginId}
                        {item.pluginVersion ? ` · v${item.pluginVersion}` : ""}
                      </div>
                    </TD>
                    <TD>{t(`pluginType.${item.pluginType}`, { defaultValue: item.pluginType })}</TD>
                    <TD>
                      <StatusBadge status={item.enabled ? "enabled" : "disabled"} />
                    </TD>
                    <TD>
                      {item.lastCheckAt ? (
                        <StatusBadge status={item.isHealthy ? "healthy" : "unhealthy"} />
                      ) : (
                        <Badge>{t("plugins.notChecked")}</Badge>
                      )}
                    </TD>
                    <TD className="whitespace-nowrap">{formatDateTime(item.lastCheckAt, i18n.language) || "—"}</TD>
                    <TD className="max-w-80 break-words text-xs text-destructive">{error || ""}</TD>
                    <TD className="text-right">
                      <Button
                        variant="outline"
                        size="sm"
                        disabled={!item.enabled || (check.isPending && check.variables === item.id)}
                        onClick={() => check.mutate(item.id)}
                        aria-label={t("plugins.checkNamed", { name: item.displayName })}
                      >
                        <RefreshCw />
                        {t("plugins.check")}
                      </Button>
                    </TD>
                  </TR>
                );
              })
            )}
          </TBody>
        </Table>
      )}
    </TitledCard>
  );
}

export function ServiceInstances({ instances }: { instances: ServiceInstance[] }) {
  const { t, i18n } = useTranslation("dashboard");
  const relative = useRelative();
  const rows = [...instances].sort((a, b) => a.service.localeCompare(b.service) || a.hostname.localeCompare(b.hostname));
  return (
    <TitledCard title={t("instances.title")} description={t("instances.hint")}>
      <Table>
        <THead>
          <TR>
            <TH>{t("instances.service")}</TH>
            <TH>{t("instances.hostname")}</TH>
            <TH>{t("instances.id")}</TH>
            <TH>{t("instances.started")}</TH>
            <TH>{t("instances.heartbeat")}</TH>
          </TR>
        </THead>
        <TBody>
          {rows.length === 0 ? (
            <Empty colSpan={5} />
          ) : (
            rows.map((instance) => (
              <TR key={instance.instanceId} data-row-key={instance.instanceId}>
                <TD className="font-medium">{instance.service}</TD>
                <TD>{instance.hostname}</TD>
                <TD>
                  <code className="text-xs">{instance.instanceId}</code>
                </TD>
                <TD className="whitespace-nowrap">{formatDateTime(instance.startedAt, i18n.language)}</TD>
                <TD className="whitespace-nowrap" title={instance.lastHeartbeatAt}>
                  {relative(instance.lastHeartbeatAt)}
                </TD>
              </TR>
            ))
          )}
        </TBody>
      </Table>
    </TitledCard>
  );
}

export function LeaderRoles({ roles, instances }: { roles: LeaderRole[]; instances: ServiceInstance[] }) {
  const { t } = useTranslation("dashboard");
  const relative = useRelative();
  const byId = new Map(instances.map((instance) => [instance.instanceId, instance]));
  const rows = [...roles].sort((a, b) => a.role.localeCompare(b.role));
  return (
    <TitledCard title={t("leaders.title")} description={t("leaders.hint")}>
      <Table>
        <THead>
          <TR>
            <TH>{t("leaders.role")}</TH>
            <TH>{t("leaders.holder")}</TH>
            <TH>{t("leaders.expires")}</TH>
          </TR>
        </THead>
        <TBody>
          {rows.length === 0 ? (
            <Empty colSpan={3} />
          ) : (
            rows.map((role) => {
              const holder = byId.get(role.holder);
              const expired = new Date(role.expiresAt).getTime() < Date.now();
              return (
                <TR key={role.role} data-row-key={role.role}>
                  <TD>
                    <code className="text-xs">{role.role}</code>
                  </TD>
                  <TD>
                    {!role.holder ? (
                      <Badge tone="yellow">{t("leaders.vacant")}</Badge>
                    ) : (
                      <div>
                        <div>{holder ? `${holder.service} @ ${holder.hostname}` : t("leaders.unknownHolder")}</div>
                        <code className="text-xs text-muted-foreground">{role.holder}</code>
                      </div>
                    )}
                  </TD>
                  <TD className="whitespace-nowrap" title={role.expiresAt}>
                    {role.holder && expired ? <Badge tone="red">{t("leaders.expired")}</Badge> : relative(role.expiresAt)}
                  </TD>
                </TR>
              );
            })
          )}
        </TBody>
      </Table>
    </TitledCard>
  );
}
