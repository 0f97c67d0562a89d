import { useTranslation } from "react-i18next";

/** The operation log's names of payment and invoice actions (the raw action when unknown). */
export function usePaymentActionLabel() {
  const { t } = useTranslation("payments");
  return (action: string) => t(`activity.actions.${action}`, { defaultValue: action });
}
