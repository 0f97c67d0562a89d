import { clsx, type ClassValue } from "clsx";
import { twMerge } from "tailwind-merge";

/** Tailwind class names, later ones winning over conflicting earlier ones. */
export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

/** An RFC 3339 timestamp in the browser's locale ("" stays ""). */
export function formatDateTime(value: string | undefined, locale: string): string {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** A money string from the API ("12.50") with its currency, as sent. */
export function formatMoney(amount: string | undefined, currency?: string): string {
  if (amount === undefined || amount === "") return "";
  return currency ? `${amount} ${currency}` : amount;
}
