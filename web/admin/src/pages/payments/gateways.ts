// Payment gateways by interface id, to name a payment's gateway and to find
// the bank-transfer ones (plugin gateway-banktransfer).
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api } from "@/lib/api";

/** The pseudo gateway of payments made from the customer's balance. */
export const BALANCE_GATEWAY = "balance";
/** Plugin id of plugins/gateway-banktransfer.rn. */
export const BANK_TRANSFER_PLUGIN = "banktransfer";

export interface Gateway {
  id: string;
  name: string;
  pluginId: string;
  enabled: boolean;
}

/** Every gateway interface, enabled or not (old payments name disabled ones too). */
export function useGateways() {
  return useQuery({
    queryKey: ["payments", "gateways"],
    queryFn: async () => {
      const response = await api.integration.listPluginInterfaces({ pluginType: "gateway" });
      return response.interfaces.map(
        (row): Gateway => ({ id: row.id, name: row.displayName, pluginId: row.pluginId, enabled: row.enabled }),
      );
    },
    staleTime: 60_000,
  });
}

/** A gateway id as its display name ("Balance" for balance payments). */
export function useGatewayName() {
  const { t } = useTranslation("payments");
  const gateways = useGateways();
  return (id: string) => {
    if (id === BALANCE_GATEWAY) return t("gateway.balance");
    return gateways.data?.find((gateway) => gateway.id === id)?.name ?? id;
  };
}
