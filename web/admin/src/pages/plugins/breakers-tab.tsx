import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { RefreshCw } from "lucide-react";
import type { CircuitBreakerInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Badge, type Tone } from "@rustbill/ui/card";
import { DataTable, type Column } from "@/components/data-table";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";
import { keys } from "./shared";

const STATE_TONES: Record<string, Tone> = { closed: "green", half_open: "yellow", open: "red" };

/**
 * The outbound circuit breakers (one per host plugins call) of the server
 * instance that answered; with several instances each keeps its own.
 */
export function BreakersTab() {
  const { t, i18n } = useTranslation("plugins");
  const query = useQuery({ queryKey: keys.breakers, queryFn: () => api.integration.listCircuitBreakers({}) });
  const columns: Column<CircuitBreakerInfo>[] = [
    { key: "host", header: t("breaker.host"), cell: (row) => <span className="font-mono text-xs">{row.host}</span> },
    {
      key: "state",
      header: t("breaker.state"),
      cell: (row) => (
        <Badge tone={STATE_TONES[row.state] ?? "neutral"} data-state={row.state}>
          {t(`breaker.states.${row.state}`, { defaultValue: row.state })}
        </Badge>
      ),
    },
    { key: "failures", header: t("breaker.failures"), cell: (row) => row.consecutiveFailures },
    { key: "opened", header: t("breaker.openedAt"), cell: (row) => formatDateTime(row.openedAt, i18n.language) || "—" },
    {
      key: "error",
      header: t("breaker.lastError"),
      className: "max-w-md",
      cell: (row) => <span className="break-words text-xs text-muted-foreground">{row.lastError || "—"}</span>,
    },
  ];
  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted-foreground">{t("breaker.note")}</p>
        <Button variant="outline" size="sm" disabled={query.isFetching} onClick={() => void query.refetch()}>
          <RefreshCw />
          {t("action.refresh", { ns: "common" })}
        </Button>
      </div>
      <DataTable
        columns={columns}
        rows={query.data?.breakers}
        rowKey={(row) => row.host}
        loading={query.isPending}
        error={query.error}
      />
    </div>
  );
}
