// How pages show ids and link to the records they refer to.
import type * as React from "react";
import { Link } from "react-router";
import { useCustomer } from "@/lib/customers";

/**
 * The tail of a UUID v7 for tables: its head is a timestamp, so records
 * made close together share it, while the tail is random.
 */
export function shortId(id: string): string {
  return id.slice(-8);
}

/** An id or other machine value, small and monospaced. */
export function Mono({ children }: { children: React.ReactNode }) {
  return <span className="font-mono text-xs">{children}</span>;
}

/** A UUID by its tail, the full id on hover. */
export function ShortId({ id }: { id: string }) {
  return (
    <span className="font-mono text-xs" title={id}>
      {shortId(id)}
    </span>
  );
}

/** A link to a customer's page, named once the customer is loaded; "—" without a customer. */
export function CustomerLink({ id }: { id: string }) {
  const customer = useCustomer(id);
  if (!id) return <span className="text-muted-foreground">—</span>;
  return (
    <Link
      to={`/customers/${id}`}
      className="text-primary hover:underline"
      title={customer.data?.email || id}
      onClick={(event) => event.stopPropagation()}
    >
      {customer.data?.name || customer.data?.email || <ShortId id={id} />}
    </Link>
  );
}

/** A link to a record, shown by its short id. */
export function IdLink({ to, id }: { to: string; id: string }) {
  return (
    <Link to={to} className="text-primary hover:underline">
      <ShortId id={id} />
    </Link>
  );
}
