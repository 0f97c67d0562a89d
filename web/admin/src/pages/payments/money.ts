// Exact arithmetic on the API's decimal strings ("12.50"), in cents, for
// the few sums the pages show before the server computes the real ones.

/** "12.5" → 1250n; null when the text is not a decimal with at most two places. */
export function toCents(text: string): bigint | null {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const cents = BigInt(match[2]) * 100n + BigInt((match[3] ?? "").padEnd(2, "0"));
  return match[1] ? -cents : cents;
}

/** 1250n → "12.50". */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  return `${negative ? "-" : ""}${absolute / 100n}.${(absolute % 100n).toString().padStart(2, "0")}`;
}

/** What is left to refund of a payment, in cents (null when unreadable). */
export function refundableCents(amount: string, refunded: string): bigint | null {
  const total = toCents(amount);
  const done = toCents(refunded || "0");
  return total === null || done === null ? null : total - done;
}
