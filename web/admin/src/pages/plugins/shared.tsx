import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Badge } from "@rustbill/ui/card";
import { FilterSelect } from "@/components/filters";
import { api, errorMessage } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";

const PLUGIN_TYPES = ["first_party_provider", "upstream_provider", "gateway", "notifier"] as const;

/** Query keys of this area; mutations invalidate by prefix. */
export const keys = {
  interfaces: ["plugins", "interfaces"] as const,
  interface: (id: string) => ["plugins", "interface", id] as const,
  definitions: ["plugins", "definitions"] as const,
  definition: (id: string) => ["plugins", "definition", id] as const,
  breakers: ["plugins", "breakers"] as const,
  adminPage: (id: string) => ["plugins", "admin-page", id] as const,
  upstream: (id: string) => ["plugins", "upstream", id] as const,
};

/** The plugin type filter of the interfaces and definitions tabs. */
export function PluginTypeFilter({ id, value, onChange }: { id: string; value: string; onChange: (value: string) => void }) {
  const { t } = useTranslation("plugins");
  return (
    <FilterSelect
      id={id}
      className="w-52"
      label={t("field.type")}
      value={value}
      onChange={onChange}
      options={PLUGIN_TYPES.map((type) => [type, t(`type.${type}`)])}
    />
  );
}

export function PluginTypeLabel({ type }: { type: string }) {
  const { t } = useTranslation("plugins");
  return <>{t(`type.${type}`, { defaultValue: type })}</>;
}

/** Health as last recorded: unknown until the first check. */
export function HealthBadge({ iface }: { iface: Pick<PluginInterfaceInfo, "isHealthy" | "lastCheckAt" | "healthError"> }) {
  const { t, i18n } = useTranslation("plugins");
  if (!iface.lastCheckAt) {
    return (
      <Badge tone="neutral" data-health="unknown">
        {t("health.unknown")}
      </Badge>
    );
  }
  const checked = t("health.checkedAt", { time: formatDateTime(iface.lastCheckAt, i18n.language) });
  return (
    <Badge
      tone={iface.isHealthy ? "green" : "red"}
      data-health={iface.isHealthy ? "healthy" : "unhealthy"}
      title={iface.healthError ? `${checked}\n${iface.healthError}` : checked}
    >
      {iface.isHealthy ? t("health.healthy") : t("health.unhealthy")}
    </Badge>
  );
}

export function EnabledBadge({ enabled }: { enabled: boolean }) {
  const { t } = useTranslation("plugins");
  return (
    <Badge tone={enabled ? "green" : "neutral"} data-enabled={enabled}>
      {enabled ? t("state.enabled") : t("state.disabled")}
    </Badge>
  );
}

/**
 * CheckPluginHealth: runs the script's health_check(), toasts the outcome
 * (an unhealthy answer is a successful call) and refreshes the records,
 * which store the result.
 */
export function useHealthCheck() {
  const { t } = useTranslation("plugins");
  const client = useQueryClient();
  return useMutation({
    mutationFn: (interfaceId: string) => api.integration.checkPluginHealth({ interfaceId }),
    onSuccess: async (result, interfaceId) => {
      if (result.isHealthy) toast.success(t("health.resultHealthy"));
      else toast.error(t("health.resultUnhealthy", { error: result.error ?? "" }));
      await client.invalidateQueries({ queryKey: keys.interfaces });
      await client.invalidateQueries({ queryKey: keys.interface(interfaceId) });
    },
    onError: (error) => toast.error(errorMessage(error)),
  });
}
