import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Badge } from "@rustbill/ui/card";
import { DataTable, type Column } from "@/components/data-table";
import { FilterBar, FilterSelect } from "@/components/filters";
import { api } from "@/lib/api";
import type { ListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { InterfaceActions } from "./interface-actions";
import { EnabledBadge, HealthBadge, keys, PluginTypeFilter, PluginTypeLabel } from "./shared";

export type PluginsFilter = "tab" | "type" | "enabled";

/**
 * Configured plugin interfaces. ListPluginInterfaces answers every
 * interface at once (no paging); the type filter is the server's, the
 * enabled filter is applied here. Both live in the URL.
 */
export function InterfacesTab({ list }: { list: ListState<PluginsFilter> }) {
  const { t, i18n } = useTranslation("plugins");
  const { type, enabled } = list.filters;
  const query = useQuery({
    queryKey: [...keys.interfaces, type],
    queryFn: () => api.integration.listPluginInterfaces({ pluginType: type || undefined }),
    placeholderData: keepPreviousData,
  });
  const rows = query.data?.interfaces.filter((row) => enabled === "" || String(row.enabled) === enabled);
  const columns: Column<PluginInterfaceInfo>[] = [
    {
      key: "name",
      header: t("field.displayName"),
      cell: (row) => (
        <Link className="font-medium text-primary hover:underline" to={`/plugins/interfaces/${row.id}`}>
          {row.displayName}
        </Link>
      ),
    },
    {
      key: "plugin",
      header: t("field.plugin"),
      cell: (row) => (
        <div className="grid">
          <span className="font-mono text-xs">{row.pluginId}</span>
          <span className="text-xs text-muted-foreground">
            <PluginTypeLabel type={row.pluginType} />
          </span>
        </div>
      ),
    },
    { key: "version", header: t("field.version"), cell: (row) => row.pluginVersion },
    {
      key: "enabled",
      header: t("field.status"),
      cell: (row) => (
        <div className="flex flex-wrap gap-1">
          <EnabledBadge enabled={row.enabled} />
          {row.scriptOverridden ? <Badge tone="yellow">{t("script.overriddenShort")}</Badge> : null}
        </div>
      ),
    },
    {
      key: "health",
      header: t("field.health"),
      cell: (row) => (
        <div className="grid gap-0.5">
          <HealthBadge iface={row} />
          {row.lastCheckAt ? (
            <span className="text-xs text-muted-foreground">{formatDateTime(row.lastCheckAt, i18n.language)}</span>
          ) : null}
        </div>
      ),
    },
    { key: "actions", header: t("field.actions"), cell: (row) => <InterfaceActions iface={row} /> },
  ];
  return (
    <div className="grid gap-3">
      <FilterBar>
        <PluginTypeFilter id="filter-type" value={type} onChange={(value) => list.setFilter("type", value)} />
        <FilterSelect
          id="filter-enabled"
          className="w-40"
          label={t("field.status")}
          value={enabled}
          onChange={(value) => list.setFilter("enabled", value)}
          options={[
            ["true", t("state.enabled")],
            ["false", t("state.disabled")],
          ]}
        />
      </FilterBar>
      <DataTable columns={columns} rows={rows} rowKey={(row) => row.id} loading={query.isPending} error={query.error} />
      {rows ? (
        <p className="text-sm text-muted-foreground">{t("table.total", { ns: "common", count: rows.length })}</p>
      ) : null}
    </div>
  );
}
