// The customer's related records: orders, instances, invoices, tickets, users.
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { DataTable, timeColumn, type Column, type PageMetaLike } from "@/components/data-table";
import { StatusBadge } from "@/components/page";
import { IdLink, ShortId } from "@/components/refs";
import type { OrderInfo } from "@/gen/rustbill/order/order_pb";
import type { InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import type { InvoiceInfo } from "@/gen/rustbill/billing/billing_pb";
import type { TicketInfo } from "@/gen/rustbill/ticket/ticket_pb";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api } from "@/lib/api";
import { formatMoney } from "@rustbill/ui/utils";
import { PriorityBadge } from "@/pages/tickets/shared";
import { useSubList } from "./shared";

/** One server-paged table of a customer's records, paged under `prefix` in the URL. */
function RelatedTable<T extends { id: string }>({
  prefix,
  customerId,
  fetch,
  columns,
}: {
  prefix: string;
  customerId: string;
  fetch: (pagination: { page: number; pageSize: number }) => Promise<{ rows: T[]; meta?: PageMetaLike }>;
  columns: Column<T>[];
}) {
  const list = useSubList(prefix);
  const query = useQuery({
    queryKey: ["customers", prefix, customerId, list.page, list.pageSize],
    queryFn: () => fetch(list.pageRequest),
    placeholderData: keepPreviousData,
  });
  return (
    <DataTable
      columns={columns}
      rows={query.data?.rows}
      rowKey={(row) => row.id}
      meta={query.data?.meta}
      loading={query.isPending}
      error={query.error}
      paging={list}
    />
  );
}

const link = "text-primary hover:underline";

export function OrdersTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const columns: Column<OrderInfo>[] = [
    {
      key: "order",
      header: t("related.order"),
      cell: (order) => <IdLink to={`/orders/${order.id}`} id={order.id} />,
    },
    { key: "product", header: t("related.product"), cell: (order) => order.productName || "—" },
    {
      key: "amount",
      header: t("related.amount"),
      className: "text-right",
      cell: (order) => <span className="font-mono tabular-nums">{formatMoney(order.amount, order.currency)}</span>,
    },
    { key: "cycle", header: t("related.cycle"), cell: (order) => t(`cycle.${order.billingCycle}`, { defaultValue: order.billingCycle || "—" }) },
    { key: "status", header: t("field.status"), cell: (order) => <StatusBadge status={order.status} /> },
    timeColumn("created", t("field.createdAt"), (order) => order.createdAt),
  ];
  return (
    <RelatedTable
      prefix="orders"
      customerId={customerId}
      columns={columns}
      fetch={async (pagination) => {
        const response = await api.orders.listOrders({ customerId, pagination });
        return { rows: response.orders, meta: response.meta };
      }}
    />
  );
}

export function InstancesTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const columns: Column<InstanceInfo>[] = [
    {
      key: "instance",
      header: t("related.instance"),
      cell: (instance) => (
        <Link className={link} to={`/instances/${instance.id}`}>
          {instance.productName || <ShortId id={instance.id} />}
        </Link>
      ),
    },
    { key: "ip", header: t("related.ip"), cell: (instance) => <span className="font-mono text-xs">{instance.ipAddress || "—"}</span> },
    {
      key: "order",
      header: t("related.order"),
      cell: (instance) => (instance.orderId ? <IdLink to={`/orders/${instance.orderId}`} id={instance.orderId} /> : "—"),
    },
    { key: "status", header: t("field.status"), cell: (instance) => <StatusBadge status={instance.status} /> },
    timeColumn("created", t("field.createdAt"), (instance) => instance.createdAt),
  ];
  return (
    <RelatedTable
      prefix="instances"
      customerId={customerId}
      columns={columns}
      fetch={async (pagination) => {
        const response = await api.instances.listInstances({ customerId, pagination });
        return { rows: response.instances, meta: response.meta };
      }}
    />
  );
}

export function InvoicesTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const columns: Column<InvoiceInfo>[] = [
    {
      key: "number",
      header: t("related.invoice"),
      cell: (invoice) => (
        <Link className={link} to={`/invoices/${invoice.id}`}>
          {invoice.invoiceNumber || <ShortId id={invoice.id} />}
        </Link>
      ),
    },
    {
      key: "period",
      header: t("related.period"),
      cell: (invoice) => (invoice.billingPeriodStart ? `${invoice.billingPeriodStart} – ${invoice.billingPeriodEnd}` : "—"),
    },
    {
      key: "total",
      header: t("related.total"),
      className: "text-right",
      cell: (invoice) => <span className="font-mono tabular-nums">{formatMoney(invoice.totalAmount, invoice.currency)}</span>,
    },
    { key: "status", header: t("field.status"), cell: (invoice) => <StatusBadge status={invoice.status} /> },
    { key: "due", header: t("related.due"), cell: (invoice) => invoice.dueDate || "—" },
    timeColumn("created", t("field.createdAt"), (invoice) => invoice.createdAt),
  ];
  return (
    <RelatedTable
      prefix="invoices"
      customerId={customerId}
      columns={columns}
      fetch={async (pagination) => {
        const response = await api.billing.listInvoices({ customerId, pagination });
        return { rows: response.invoices, meta: response.meta };
      }}
    />
  );
}

export function TicketsTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const columns: Column<TicketInfo>[] = [
    {
      key: "title",
      header: t("related.ticket"),
      cell: (ticket) => (
        <Link className={link} to={`/tickets/${ticket.id}`}>
          {ticket.title}
        </Link>
      ),
    },
    {
      key: "priority",
      header: t("related.priority"),
      cell: (ticket) => <PriorityBadge priority={ticket.priority} />,
    },
    { key: "status", header: t("field.status"), cell: (ticket) => <StatusBadge status={ticket.status} /> },
    timeColumn("created", t("field.createdAt"), (ticket) => ticket.createdAt),
    timeColumn("updated", t("field.updatedAt"), (ticket) => ticket.updatedAt),
  ];
  return (
    <RelatedTable
      prefix="tickets"
      customerId={customerId}
      columns={columns}
      fetch={async (pagination) => {
        const response = await api.tickets.listTickets({ customerId, pagination });
        return { rows: response.tickets, meta: response.meta };
      }}
    />
  );
}

export function UsersTab({ customerId }: { customerId: string }) {
  const { t } = useTranslation("customers");
  const columns: Column<UserInfo>[] = [
    { key: "username", header: t("related.username"), cell: (user) => <span className="font-medium">{user.username}</span> },
    { key: "displayName", header: t("related.displayName"), cell: (user) => user.displayName || "—" },
    { key: "email", header: t("field.email"), cell: (user) => user.email || "—" },
    { key: "status", header: t("field.status"), cell: (user) => <StatusBadge status={user.isActive ? "active" : "disabled"} /> },
    timeColumn("created", t("field.createdAt"), (user) => user.createdAt),
  ];
  return (
    <div className="grid gap-3">
      <Link className={`${link} text-sm`} to={`/users?type=customer&customer=${customerId}`}>
        {t("related.manageUsers")}
      </Link>
      <RelatedTable
        prefix="users"
        customerId={customerId}
        columns={columns}
        fetch={async (pagination) => {
          const response = await api.identity.listUsers({ userType: "customer", customerId, pagination });
          return { rows: response.users, meta: response.meta };
        }}
      />
    </div>
  );
}
