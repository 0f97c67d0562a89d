import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import type { PluginDef } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterBar } from "@/components/filters";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import type { ListState } from "@/lib/list";
import type { PluginsFilter } from "./interfaces-tab";
import { keys, PluginTypeFilter, PluginTypeLabel } from "./shared";

/**
 * Plugin definitions: what the scanner loaded from plugins/*.rn (at start
 * and every scan interval). A definition is a template; interfaces are its
 * configured instances, counted here. A file that no longer loads shows its
 * load error; the last good version keeps running.
 */
export function DefinitionsTab({
  list,
  onCreateInterface,
}: {
  list: ListState<PluginsFilter>;
  onCreateInterface: (definitionId: string) => void;
}) {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const { type } = list.filters;
  const query = useQuery({
    queryKey: [...keys.definitions, type],
    queryFn: () => api.integration.listPlugins({ pluginType: type || undefined }),
    placeholderData: keepPreviousData,
  });
  const interfaces = useQuery({
    queryKey: [...keys.interfaces, ""],
    queryFn: () => api.integration.listPluginInterfaces({}),
  });
  const interfaceCount = (definitionId: string) =>
    interfaces.data?.interfaces.filter((row) => row.pluginDefId === definitionId).length;
  const columns: Column<PluginDef>[] = [
    { key: "name", header: t("field.plugin"), cell: (row) => <span className="font-mono font-medium">{row.pluginId}</span> },
    { key: "type", header: t("field.type"), cell: (row) => <PluginTypeLabel type={row.pluginType} /> },
    { key: "version", header: t("field.version"), cell: (row) => row.version },
    {
      key: "file",
      header: t("field.file"),
      cell: (row) => <span className="font-mono text-xs">{row.fileName}</span>,
    },
    {
      key: "load",
      header: t("field.load"),
      cell: (row) =>
        row.loadError ? (
          <div className="grid max-w-md justify-items-start gap-1">
            <Badge tone="red">{t("definitions.loadError")}</Badge>
            <pre className="whitespace-pre-wrap break-words font-mono text-xs text-destructive">{row.loadError}</pre>
          </div>
        ) : (
          <Badge tone="green">{t("definitions.loaded")}</Badge>
        ),
    },
    {
      key: "adminPage",
      header: t("field.adminPage"),
      cell: (row) => (row.hasAdminPage ? t("yes", { ns: "common" }) : t("no", { ns: "common" })),
    },
    { key: "interfaces", header: t("field.interfaces"), cell: (row) => interfaceCount(row.id) ?? "…" },
    timeColumn("updated", t("field.updatedAt"), (row) => row.updatedAt),
    ...(isAdmin
      ? [
          {
            key: "actions",
            header: t("field.actions"),
            cell: (row: PluginDef) => (
              <Button variant="outline" size="sm" onClick={() => onCreateInterface(row.id)}>
                <Plus />
                {t("create.button")}
              </Button>
            ),
          },
        ]
      : []),
  ];
  return (
    <div className="grid gap-3">
      <FilterBar>
        <PluginTypeFilter id="filter-definition-type" value={type} onChange={(value) => list.setFilter("type", value)} />
        <p className="max-w-xl text-sm text-muted-foreground">{t("definitions.note")}</p>
      </FilterBar>
      <DataTable columns={columns} rows={query.data?.plugins} rowKey={(row) => row.id} loading={query.isPending} error={query.error} />
    </div>
  );
}
