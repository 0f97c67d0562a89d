import { useTranslation } from "react-i18next";

export const INVOICE_STATUSES = ["draft", "issued", "paid", "overdue", "cancelled"] as const;

/** "YYYY-MM-DD" of a local date. */
export function isoDate(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The first and last day of the month `offset` months from now. */
export function monthRange(offset = 0): [string, string] {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth() + offset, 1);
  const last = new Date(now.getFullYear(), now.getMonth() + offset + 1, 0);
  return [isoDate(first), isoDate(last)];
}

/** The invoice kind (manual, renewal, generated), translated. */
export function InvoiceKind({ kind }: { kind: string }) {
  const { t } = useTranslation("invoices");
  return <>{kind ? t(`kind.${kind}`, { defaultValue: kind }) : "—"}</>;
}
