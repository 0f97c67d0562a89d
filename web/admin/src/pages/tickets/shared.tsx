// Pieces shared by the ticket list and detail pages: the status flow, staff
// and customer look-ups, a customer picker and the priority badge.
import * as React from "react";
import { useQueries, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { X } from "lucide-react";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import type { TicketInfo, TicketReplyInfo } from "@/gen/rustbill/ticket/ticket_pb";
import { Badge, type Tone } from "@rustbill/ui/card";
import { Button } from "@rustbill/ui/button";
import { Input, Textarea } from "@rustbill/ui/input";
import { Field } from "@/components/form";
import { api } from "@/lib/api";
import { customerQuery } from "@/lib/customers";
import { useDebounced } from "@/lib/use-debounced";

export const STATUSES = ["pending", "processing", "resolved", "closed"] as const;
const PRIORITIES = ["low", "medium", "high", "urgent"] as const;

/** The legal moves of the server's state machine (services/notify tickets.rs `can_move`). */
export function nextStatuses(from: string): string[] {
  switch (from) {
    case "pending":
      return ["processing", "closed"];
    case "processing":
      return ["resolved", "closed"];
    case "resolved":
      return ["processing", "closed"];
    default:
      return [];
  }
}

const PRIORITY_TONES: Record<string, Tone> = { low: "neutral", medium: "blue", high: "yellow", urgent: "red" };

export function PriorityBadge({ priority }: { priority: string }) {
  const { t } = useTranslation("tickets");
  return (
    <Badge tone={PRIORITY_TONES[priority] ?? "neutral"} data-priority={priority}>
      {t(`priority.${priority}`, { defaultValue: priority })}
    </Badge>
  );
}

/** The priorities as the options of a select. */
export function PriorityOptions() {
  const { t } = useTranslation("tickets");
  return (
    <>
      {PRIORITIES.map((value) => (
        <option key={value} value={value}>
          {t(`priority.${value}`)}
        </option>
      ))}
    </>
  );
}

/** Every admin user (admins and operators), for the assignee pick list and author names. */
export function useStaff() {
  return useQuery({
    queryKey: ["tickets", "staff"],
    staleTime: 60_000,
    queryFn: async () => {
      const users: UserInfo[] = [];
      for (let page = 1; ; page++) {
        const response = await api.identity.listUsers({ pagination: { page, pageSize: 100 }, userType: "admin" });
        users.push(...response.users);
        if (page >= (response.meta?.totalPages ?? 1)) break;
      }
      return users;
    },
  });
}

export function staffName(user: UserInfo | undefined): string {
  return user ? user.displayName || user.username : "";
}

/** The customers with these ids, by id (missing ones are absent). */
export function useCustomers(ids: string[]): Map<string, CustomerInfo> {
  const unique = [...new Set(ids.filter(Boolean))];
  const results = useQueries({
    queries: unique.map((id) => ({ ...customerQuery(id), staleTime: 60_000 })),
  });
  const map = new Map<string, CustomerInfo>();
  for (const result of results) {
    if (result.data) map.set(result.data.id, result.data);
  }
  return map;
}

/** A ticket's description, when it is opened and when it is edited. */
export function DescriptionField({
  id,
  rows,
  value,
  onChange,
  error,
}: {
  id: string;
  rows: number;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}) {
  const { t } = useTranslation("tickets");
  return (
    <Field label={t("field.description")} htmlFor={id} error={error}>
      <Textarea id={id} rows={rows} value={value} aria-invalid={!!error || undefined} onChange={(event) => onChange(event.target.value)} />
    </Field>
  );
}

/** Whether staff or the customer wrote a reply: staff replies carry no customer id. */
export function replyKind(reply: TicketReplyInfo): "staff" | "customer" {
  return reply.customerId ? "customer" : "staff";
}

/** The newest reply customers can see, if any. */
export function lastPublicReply(ticket: TicketInfo): TicketReplyInfo | undefined {
  return ticket.replies.filter((reply) => !reply.isInternal).at(-1);
}

/**
 * Picks a customer by name or e-mail. With a value it shows the chosen
 * customer and a button to clear it; otherwise a search box and matches.
 */
export function CustomerPicker({
  id,
  value,
  onChange,
  invalid,
}: {
  id: string;
  value: string;
  onChange: (customerId: string) => void;
  invalid?: boolean;
}) {
  const { t } = useTranslation("tickets");
  const [search, setSearch] = React.useState("");
  const term = useDebounced(search.trim());
  const selected = useCustomers(value ? [value] : []).get(value);
  const matches = useQuery({
    queryKey: ["tickets", "customer-search", term],
    enabled: !value && term.length > 0,
    queryFn: async () => (await api.customers.listCustomers({ pagination: { page: 1, pageSize: 10 }, search: term })).customers,
  });
  if (value) {
    return (
      <div className="relative">
        <Input
          id={id}
          readOnly
          className="pr-9"
          value={selected ? `${selected.name}${selected.email ? ` · ${selected.email}` : ""}` : value}
        />
        <Button
          variant="ghost"
          size="sm"
          className="absolute right-1 top-1.5 h-6 px-1"
          aria-label={t("customerPicker.clear")}
          onClick={() => onChange("")}
        >
          <X />
        </Button>
      </div>
    );
  }
  return (
    <div className="relative">
      <Input
        id={id}
        value={search}
        placeholder={t("customerPicker.placeholder")}
        autoComplete="off"
        aria-invalid={invalid || undefined}
        onChange={(event) => setSearch(event.target.value)}
      />
      {term && search.trim() ? (
        <ul className="absolute z-20 mt-1 max-h-64 w-full overflow-auto rounded-md border bg-card text-sm shadow-md" role="listbox">
          {matches.isPending ? (
            <li className="px-3 py-2 text-muted-foreground">{t("loading", { ns: "common" })}</li>
          ) : (matches.data ?? []).length === 0 ? (
            <li className="px-3 py-2 text-muted-foreground">{t("customerPicker.none")}</li>
          ) : (
            matches.data?.map((customer) => (
              <li key={customer.id} role="option" aria-selected={false}>
                <button
                  type="button"
                  className="flex w-full flex-col items-start px-3 py-2 text-left hover:bg-muted"
                  onClick={() => {
                    setSearch("");
                    onChange(customer.id);
                  }}
                >
                  <span>{customer.name}</span>
                  <span className="text-xs text-muted-foreground">{customer.email}</span>
                </button>
              </li>
            ))
          )}
        </ul>
      ) : null}
    </div>
  );
}
