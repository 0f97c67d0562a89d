// Exact arithmetic on the API's decimal money strings ("12.50"), in cents,
// for the few sums the pages show before the server computes the real ones.

const MONEY = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** "12.5" → 1250n; null when the text is not a decimal with at most two places. */
export function toCents(amount: string): bigint | null {
  const match = MONEY.exec(amount.trim());
  if (!match) return null;
  const cents = BigInt(match[2]) * 100n + BigInt((match[3] ?? "").padEnd(2, "0"));
  return match[1] ? -cents : cents;
}

/** 1250n → "12.50". */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  const fraction = (absolute % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${absolute / 100n}.${fraction}`;
}
