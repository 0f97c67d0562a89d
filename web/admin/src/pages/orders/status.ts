// The order state machine of services/orders/src/status.rs.

export const ORDER_STATUSES = [
  "pending",
  "paid",
  "provisioning",
  "active",
  "suspended",
  "cancelled",
  "refunded",
  "completed",
  "terminated",
] as const;

/** Legal transitions (status.rs `can_move`); the other statuses are final. */
const TRANSITIONS: Record<string, readonly string[]> = {
  pending: ["paid", "cancelled"],
  paid: ["provisioning", "cancelled", "refunded"],
  provisioning: ["active", "cancelled"],
  active: ["suspended", "completed", "refunded", "terminated"],
  suspended: ["active", "completed", "refunded", "terminated"],
};

/**
 * Targets UpdateOrder refuses although the transition is legal: a payment
 * starts provisioning, a payment refund refunds, terminating the instance
 * terminates.
 */
const REACHED_ELSEWHERE = ["provisioning", "refunded", "terminated"] as const;
export type ReachedElsewhere = (typeof REACHED_ELSEWHERE)[number];

function isElsewhere(status: string): status is ReachedElsewhere {
  return (REACHED_ELSEWHERE as readonly string[]).includes(status);
}

/** The statuses an administrator can set on an order in `from` (UpdateOrder). */
export function settableStatuses(from: string): string[] {
  return (TRANSITIONS[from] ?? []).filter((to) => !isElsewhere(to));
}

/** The legal next statuses that other actions reach. */
export function statusesReachedElsewhere(from: string): ReachedElsewhere[] {
  return (TRANSITIONS[from] ?? []).filter(isElsewhere);
}

/** Statuses a delete is possible in (if the order never took money). */
export const DELETABLE_STATUSES: readonly string[] = ["pending", "cancelled"];
