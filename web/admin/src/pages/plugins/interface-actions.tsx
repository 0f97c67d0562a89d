import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { useQueryClient } from "@tanstack/react-query";
import { HeartPulse } from "lucide-react";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { ConfirmButton } from "@/components/confirm";
import { useApiMutation } from "@/components/form";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { keys, useHealthCheck } from "./shared";

/**
 * The buttons every interface has, in its list row and on its page:
 * health check (operators too), enable / disable (disabling asks first)
 * and delete (asks first), the last two for admins only.
 */
export function InterfaceActions({
  iface,
  size = "sm",
  onDeleted,
}: {
  iface: PluginInterfaceInfo;
  size?: "sm" | "default";
  onDeleted?: () => void;
}) {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  const health = useHealthCheck();
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: keys.interfaces });
    await client.invalidateQueries({ queryKey: keys.interface(iface.id) });
  };
  const enable = useApiMutation(() => api.integration.togglePluginInterface({ interfaceId: iface.id, enable: true }), {
    invalidate: [keys.interfaces, keys.interface(iface.id)],
    successMessage: t("toggle.enabled", { name: iface.displayName }),
  });
  const disable = async () => {
    await api.integration.togglePluginInterface({ interfaceId: iface.id, enable: false });
    toast.success(t("toggle.disabled", { name: iface.displayName }));
    await refresh();
  };
  const remove = async () => {
    await api.integration.deletePluginInterface({ interfaceId: iface.id });
    toast.success(t("delete.done", { name: iface.displayName }));
    await client.invalidateQueries({ queryKey: keys.interfaces });
    client.removeQueries({ queryKey: keys.interface(iface.id) });
    onDeleted?.();
  };
  const checking = health.isPending && health.variables === iface.id;
  return (
    <div className="flex flex-wrap items-center gap-2">
      <Button variant="outline" size={size} disabled={checking} onClick={() => health.mutate(iface.id)}>
        <HeartPulse />
        {checking ? t("health.checking") : t("health.check")}
      </Button>
      {isAdmin ? (
        <>
          {iface.enabled ? (
            <ConfirmButton
              variant="outline"
              size={size}
              title={t("toggle.disableTitle", { name: iface.displayName })}
              description={t("toggle.disableDescription")}
              confirmLabel={t("toggle.disable")}
              onConfirm={disable}
            >
              {t("toggle.disable")}
            </ConfirmButton>
          ) : (
            <Button variant="outline" size={size} disabled={enable.isPending} onClick={() => enable.mutate(undefined)}>
              {t("toggle.enable")}
            </Button>
          )}
          <ConfirmButton
            size={size}
            title={t("delete.title", { name: iface.displayName })}
            description={t("delete.description")}
            confirmLabel={t("action.delete", { ns: "common" })}
            onConfirm={remove}
          >
            {t("action.delete", { ns: "common" })}
          </ConfirmButton>
        </>
      ) : null}
    </div>
  );
}
