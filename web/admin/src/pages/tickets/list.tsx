import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import type { TicketInfo } from "@/gen/rustbill/ticket/ticket_pb";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterSelect, StatusFilter } from "@/components/filters";
import { Field } from "@/components/form";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { api } from "@/lib/api";
import { useMe } from "@/lib/auth";
import { useListQuery, useListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { CreateTicketDialog } from "./create-dialog";
import {
  CustomerPicker, lastPublicReply, PriorityBadge, PriorityOptions, replyKind, STATUSES, staffName, useCustomers, useStaff,
} from "./shared";

const FILTERS = ["status", "priority", "assignee", "customer"] as const;

export function TicketList() {
  const { t, i18n } = useTranslation("tickets");
  const navigate = useNavigate();
  const me = useMe();
  const list = useListState(FILTERS);
  const { status, priority, assignee, customer } = list.filters;
  const tickets = useListQuery(["tickets"], list, (pagination) =>
    api.tickets.listTickets({
      pagination,
      status: status || undefined,
      priority: priority || undefined,
      assigneeUserId: assignee || undefined,
      customerId: customer || undefined,
    }),
  );
  const staff = useStaff();
  const staffById = new Map((staff.data ?? []).map((user) => [user.id, user]));
  const customers = useCustomers((tickets.data?.tickets ?? []).map((ticket) => ticket.customerId));

  const columns: Column<TicketInfo>[] = [
    {
      key: "title",
      header: t("field.title"),
      cell: (ticket) => (
        <Link to={`/tickets/${ticket.id}`} className="font-medium text-primary hover:underline" onClick={(event) => event.stopPropagation()}>
          {ticket.title}
        </Link>
      ),
    },
    {
      key: "customer",
      header: t("field.customer"),
      cell: (ticket) => (
        <Link to={`/customers/${ticket.customerId}`} className="hover:underline" onClick={(event) => event.stopPropagation()}>
          {customers.get(ticket.customerId)?.name ?? ticket.customerId.slice(0, 8)}
        </Link>
      ),
    },
    { key: "status", header: t("field.status"), cell: (ticket) => <StatusBadge status={ticket.status} /> },
    { key: "priority", header: t("field.priority"), cell: (ticket) => <PriorityBadge priority={ticket.priority} /> },
    {
      key: "assignee",
      header: t("field.assignee"),
      cell: (ticket) =>
        ticket.assigneeUserId ? (
          staffName(staffById.get(ticket.assigneeUserId)) || ticket.assigneeUserId.slice(0, 8)
        ) : (
          <span className="text-muted-foreground">{t("unassigned")}</span>
        ),
    },
    {
      key: "lastReply",
      header: t("field.lastReply"),
      cell: (ticket) => {
        const reply = lastPublicReply(ticket);
        if (!reply) return <span className="text-muted-foreground">{t("noReplies")}</span>;
        const fromCustomer = replyKind(reply) === "customer";
        return (
          <span className={fromCustomer ? "font-medium" : "text-muted-foreground"}>
            {fromCustomer ? t("lastReply.customer") : t("lastReply.staff")} ·{" "}
            {formatDateTime(reply.createdAt, i18n.language)}
          </span>
        );
      },
    },
    { key: "replies", header: t("field.replies"), className: "text-right", cell: (ticket) => ticket.replies.length },
    timeColumn("updated", t("field.updatedAt"), (ticket) => ticket.updatedAt),
    timeColumn("created", t("field.createdAt"), (ticket) => ticket.createdAt),
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("subtitle")} actions={<CreateTicketDialog />} />
      <div className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
        <StatusFilter
          id="ticket-filter-status"
          label={t("field.status")}
          value={status}
          onChange={(value) => list.setFilter("status", value)}
          statuses={STATUSES}
        />
        <FilterSelect
          id="ticket-filter-priority"
          label={t("field.priority")}
          value={priority}
          onChange={(value) => list.setFilter("priority", value)}
        >
          <PriorityOptions />
        </FilterSelect>
        <FilterSelect
          id="ticket-filter-assignee"
          label={t("field.assignee")}
          value={assignee}
          onChange={(value) => list.setFilter("assignee", value)}
        >
          {assignee && !staffById.has(assignee) ? <option value={assignee}>{assignee}</option> : null}
          {(staff.data ?? []).map((user) => (
            <option key={user.id} value={user.id}>
              {staffName(user)}
              {user.id === me.id ? ` (${t("me")})` : ""}
            </option>
          ))}
        </FilterSelect>
        <Field label={t("field.customer")} htmlFor="ticket-filter-customer">
          <CustomerPicker id="ticket-filter-customer" value={customer} onChange={(value) => list.setFilter("customer", value)} />
        </Field>
        <div className="flex items-end gap-2">
          <Button
            variant={assignee === me.id ? "secondary" : "outline"}
            aria-pressed={assignee === me.id}
            onClick={() => list.setFilter("assignee", assignee === me.id ? "" : me.id)}
          >
            {t("mine")}
          </Button>
          {list.filtered ? (
            <Button variant="ghost" onClick={list.clearFilters}>
              {t("action.reset", { ns: "common" })}
            </Button>
          ) : null}
        </div>
      </div>
      <DataTable
        columns={columns}
        rows={tickets.data?.tickets}
        rowKey={(ticket) => ticket.id}
        meta={tickets.data?.meta}
        loading={tickets.isPending}
        error={tickets.error}
        paging={list}
        onRowClick={(ticket) => navigate(`/tickets/${ticket.id}`)}
      />
    </div>
  );
}
