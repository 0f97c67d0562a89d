import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import type { TicketInfo } from "@/gen/rustbill/ticket/ticket_pb";
import { DataTable, type Column } from "@/components/data-table";
import { PageHeader, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Label, Select } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { useMe } from "@/lib/auth";
import { useListState } from "@/lib/list";
import { formatDateTime } from "@rustbill/ui/utils";
import { CreateTicketDialog } from "./create-dialog";
import {
  CustomerPicker, lastPublicReply, PRIORITIES, PriorityBadge, replyKind, STATUSES, staffName, useCustomers, useStaff,
} from "./shared";

const FILTERS = ["status", "priority", "assignee", "customer"] as const;

export function TicketList() {
  const { t, i18n } = useTranslation("tickets");
  const navigate = useNavigate();
  const me = useMe();
  const list = useListState(FILTERS);
  const { status, priority, assignee, customer } = list.filters;
  const tickets = useQuery({
    queryKey: ["tickets", "list", list.page, list.pageSize, list.filters],
    placeholderData: keepPreviousData,
    queryFn: () =>
      api.tickets.listTickets({
        pagination: list.pageRequest,
        status: status || undefined,
        priority: priority || undefined,
        assigneeUserId: assignee || undefined,
        customerId: customer || undefined,
      }),
  });
  const staff = useStaff();
  const staffById = new Map((staff.data ?? []).map((user) => [user.id, user]));
  const customers = useCustomers((tickets.data?.tickets ?? []).map((ticket) => ticket.customerId));
  const filtered = Object.values(list.filters).some(Boolean);

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
    { key: "updated", header: t("field.updatedAt"), className: "whitespace-nowrap", cell: (ticket) => formatDateTime(ticket.updatedAt, i18n.language) },
    { key: "created", header: t("field.createdAt"), className: "whitespace-nowrap", cell: (ticket) => formatDateTime(ticket.createdAt, i18n.language) },
  ];

  return (
    <div>
      <PageHeader title={t("title")} description={t("subtitle")} actions={<CreateTicketDialog />} />
      <div className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
        <div className="grid gap-1.5">
          <Label htmlFor="ticket-filter-status">{t("field.status")}</Label>
          <Select id="ticket-filter-status" value={status} onChange={(event) => list.setFilter("status", event.target.value)}>
            <option value="">{t("all", { ns: "common" })}</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {t(value, { ns: "status" })}
              </option>
            ))}
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="ticket-filter-priority">{t("field.priority")}</Label>
          <Select id="ticket-filter-priority" value={priority} onChange={(event) => list.setFilter("priority", event.target.value)}>
            <option value="">{t("all", { ns: "common" })}</option>
            {PRIORITIES.map((value) => (
              <option key={value} value={value}>
                {t(`priority.${value}`)}
              </option>
            ))}
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="ticket-filter-assignee">{t("field.assignee")}</Label>
          <Select id="ticket-filter-assignee" value={assignee} onChange={(event) => list.setFilter("assignee", event.target.value)}>
            <option value="">{t("all", { ns: "common" })}</option>
            {assignee && !staffById.has(assignee) ? <option value={assignee}>{assignee}</option> : null}
            {(staff.data ?? []).map((user) => (
              <option key={user.id} value={user.id}>
                {staffName(user)}
                {user.id === me.id ? ` (${t("me")})` : ""}
              </option>
            ))}
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="ticket-filter-customer">{t("field.customer")}</Label>
          <CustomerPicker id="ticket-filter-customer" value={customer} onChange={(value) => list.setFilter("customer", value)} />
        </div>
        <div className="flex items-end gap-2">
          <Button
            variant={assignee === me.id ? "secondary" : "outline"}
            aria-pressed={assignee === me.id}
            onClick={() => list.setFilter("assignee", assignee === me.id ? "" : me.id)}
          >
            {t("mine")}
          </Button>
          {filtered ? (
            <Button variant="ghost" onClick={() => list.setFilters({ status: "", priority: "", assignee: "", customer: "" })}>
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
        onPage={list.setPage}
        onPageSize={list.setPageSize}
        pageSize={list.pageSize}
        onRowClick={(ticket) => navigate(`/tickets/${ticket.id}`)}
      />
    </div>
  );
}
