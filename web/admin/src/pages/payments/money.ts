import { toCents } from "@/lib/money";

/** What is left to refund of a payment, in cents (null when unreadable). */
export function refundableCents(amount: string, refunded: string): bigint | null {
  const total = toCents(amount);
  const done = toCents(refunded || "0");
  return total === null || done === null ? null : total - done;
}
