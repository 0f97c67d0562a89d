// Sums of the dashboard's decimal strings.
import type { DailySeries } from "@/gen/rustbill/system/system_pb";

/** Total of a money series as a two-place decimal, summed in cents. */
export function sumMoney(series: DailySeries | undefined): string {
  const cents = (series?.points ?? []).reduce((total, point) => total + Math.round((Number(point.value) || 0) * 100), 0);
  return (cents / 100).toFixed(2);
}

/** Total of a count series. */
export function sumCount(series: DailySeries | undefined): number {
  return (series?.points ?? []).reduce((total, point) => total + (Number(point.value) || 0), 0);
}
