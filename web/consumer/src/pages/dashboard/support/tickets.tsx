// Support tickets: the customer's tickets (paged, by status), a new ticket,
// and the conversation with support, refreshed while it is open.
import * as React from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Route, Routes, useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Badge, Card, CardContent, CardHeader, CardTitle, type Tone } from "@rustbill/ui/card";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { cn, formatDateTime } from "@rustbill/ui/utils";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { Field } from "@/pages/catalog/widgets";
import { Empty, FilterSelect, Pager, QueryBody, QueryError, useListParams, RowList } from "../orders/parts";

const STATUSES = ["pending", "processing", "resolved", "closed"] as const;
const PRIORITIES = ["low", "medium", "high", "urgent"] as const;
const STATUS_TONES: Record<string, Tone> = { pending: "yellow", processing: "blue", resolved: "green", closed: "neutral" };
const PRIORITY_TONES: Record<string, Tone> = { low: "neutral", medium: "blue", high: "yellow", urgent: "red" };

export default function TicketsPage() {
  return (
    <Routes>
      <Route index element={<TicketList />} />
      <Route path="new" element={<NewTicket />} />
      <Route path=":id" element={<TicketThread />} />
    </Routes>
  );
}

function TicketStatus({ status }: { status: string }) {
  const { t } = useTranslation("support");
  return <Badge tone={STATUS_TONES[status] ?? "neutral"}>{t(`status.${status}`, { defaultValue: status })}</Badge>;
}

function Priority({ priority }: { priority: string }) {
  const { t } = useTranslation("support");
  return <Badge tone={PRIORITY_TONES[priority] ?? "neutral"}>{t(`priority.${priority}`, { defaultValue: priority })}</Badge>;
}

function TicketList() {
  const { t, i18n } = useTranslation("support");
  const list = useListParams(["status"] as const);
  const tickets = useQuery({
    queryKey: ["tickets", "list", list.page, list.filters],
    queryFn: () => api.tickets.listTickets({ pagination: list.pagination, status: list.filters.status || undefined }),
    placeholderData: keepPreviousData,
  });
  const columns = "md:grid-cols-[1fr_7rem_6rem_10rem]";
  return (
    <div className="grid gap-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("title")}</h1>
        <Button asChild>
          <Link to="/dashboard/tickets/new">{t("newTicket")}</Link>
        </Button>
      </div>
      <FilterSelect
        id="tickets-status"
        label={t("filter.status")}
        allLabel={t("filter.all")}
        value={list.filters.status}
        values={STATUSES}
        optionLabel={(status) => t(`status.${status}`)}
        onChange={(status) => list.setFilter("status", status)}
      />
      <QueryBody query={tickets} isEmpty={(data) => data.tickets.length === 0} empty={t("empty")}>
        {(data) => (
        <>
          <RowList
            columns={columns}
            header={
              <>
              <span>{t("field.subject")}</span>
              <span>{t("field.status")}</span>
              <span>{t("field.priority")}</span>
              <span>{t("field.updated")}</span>
              </>
            }
          >
            {data.tickets.map((ticket) => (
              <li key={ticket.id} data-row-key={ticket.id} className="rounded-lg border bg-card md:rounded-none md:border-0 md:border-t md:bg-transparent">
                <Link
                  to={`/dashboard/tickets/${ticket.id}`}
                  className={`grid grid-cols-[1fr_auto] gap-x-3 gap-y-1 p-3 text-sm hover:bg-muted/40 md:items-center md:py-2 ${columns}`}
                >
                  <span className="break-words font-medium text-primary">{ticket.title}</span>
                  <span className="justify-self-end md:justify-self-start">
                    <TicketStatus status={ticket.status} />
                  </span>
                  <span>
                    <Priority priority={ticket.priority} />
                  </span>
                  <span className="justify-self-end text-xs text-muted-foreground md:justify-self-start md:text-sm">
                    {formatDateTime(ticket.updatedAt, i18n.language)}
                  </span>
                </Link>
              </li>
            ))}
          </RowList>
          <Pager meta={data.meta} onPage={list.setPage} />
        </>
        )}
      </QueryBody>
    </div>
  );
}

function NewTicket() {
  const { t } = useTranslation("support");
  const navigate = useNavigate();
  const client = useQueryClient();
  const [form, setForm] = React.useState({ title: "", priority: "medium", description: "" });
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      api.tickets.createTicket({ title: form.title.trim(), priority: form.priority, description: form.description.trim() }),
    onSuccess: (response) => {
      toast.success(t("create.created"));
      void client.invalidateQueries({ queryKey: ["tickets"] });
      navigate(`/dashboard/tickets/${response.ticket?.id ?? ""}`, { replace: true });
    },
    onError: (error) => {
      const fields = fieldErrors(error);
      setErrors(fields);
      if (Object.keys(fields).length === 0) toast.error(errorMessage(error));
    },
  });
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const missing: Record<string, string> = {};
    if (!form.title.trim()) missing.title = t("create.required");
    if (!form.description.trim()) missing.description = t("create.required");
    setErrors(missing);
    if (Object.keys(missing).length === 0) create.mutate();
  };
  const set = (name: keyof typeof form) => (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    setForm((current) => ({ ...current, [name]: event.target.value }));
  return (
    <div className="grid max-w-2xl gap-4">
      <Link to="/dashboard/tickets" className="text-sm text-muted-foreground hover:text-primary">
        ← {t("backToList")}
      </Link>
      <Card>
        <CardHeader>
          <CardTitle>{t("create.title")}</CardTitle>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={submit} noValidate>
            <Field id="ticket-title" label={t("create.subject")} error={errors.title}>
              <Input id="ticket-title" maxLength={200} value={form.title} onChange={set("title")} />
            </Field>
            <Field id="ticket-priority" label={t("create.priority")} error={errors.priority}>
              <Select id="ticket-priority" className="w-44" value={form.priority} onChange={set("priority")}>
                {PRIORITIES.map((priority) => (
                  <option key={priority} value={priority}>
                    {t(`priority.${priority}`)}
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="ticket-description" label={t("create.message")} hint={t("create.messageHint")} error={errors.description}>
              <Textarea id="ticket-description" rows={8} maxLength={20000} value={form.description} onChange={set("description")} />
            </Field>
            <div>
              <Button type="submit" disabled={create.isPending}>
                {t("create.submit")}
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}

function TicketThread() {
  const { t, i18n } = useTranslation("support");
  const { id = "" } = useParams();
  const client = useQueryClient();
  const ticket = useQuery({
    queryKey: ["tickets", "detail", id],
    queryFn: () => api.tickets.getTicket({ id }),
    refetchInterval: (query) => (query.state.data?.ticket?.status === "closed" ? false : 10_000),
  });
  const [reply, setReply] = React.useState("");
  const [replyError, setReplyError] = React.useState("");
  const send = useMutation({
    mutationFn: () => api.tickets.createReply({ ticketId: id, content: reply.trim(), isInternal: false }),
    onSuccess: () => {
      setReply("");
      toast.success(t("thread.sent"));
      void client.invalidateQueries({ queryKey: ["tickets"] });
    },
    onError: (error) => {
      const fields = fieldErrors(error);
      if (fields.content) setReplyError(fields.content);
      else toast.error(errorMessage(error));
      // The ticket may have been closed meanwhile (FailedPrecondition).
      void client.invalidateQueries({ queryKey: ["tickets", "detail", id] });
    },
  });

  if (ticket.isError) return <QueryError error={ticket.error} onRetry={() => void ticket.refetch()} />;
  if (ticket.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  const info = ticket.data.ticket;
  if (!info) return <Empty>{t("notFound")}</Empty>;
  const closed = info.status === "closed";
  // The opening message (the description, which may be empty), then the
  // replies in time order. Staff replies carry no customer id and sit on the
  // other side; internal notes never reach a customer, and are hidden here
  // should one ever arrive.
  const messages = [
    ...(info.description ? [{ id: "opening", mine: true, content: info.description, at: info.createdAt }] : []),
    ...info.replies
      .filter((item) => !item.isInternal)
      .map((item) => ({ id: item.id, mine: item.customerId !== "", content: item.content, at: item.createdAt }))
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at)),
  ];

  return (
    <div className="grid gap-4">
      <Link to="/dashboard/tickets" className="text-sm text-muted-foreground hover:text-primary">
        ← {t("backToList")}
      </Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="break-words text-2xl font-semibold">{info.title}</h1>
        <TicketStatus status={info.status} />
        <Priority priority={info.priority} />
      </div>
      <p className="text-sm text-muted-foreground">
        {t("field.created")}: {formatDateTime(info.createdAt, i18n.language)}
      </p>
      <ol className="grid gap-3" aria-label={t("title")}>
        {messages.map((message) => (
          <li key={message.id} className={cn("flex", message.mine ? "justify-end" : "justify-start")}>
            <div className={cn("max-w-[85%] rounded-lg border p-3 text-sm", message.mine ? "bg-primary/10" : "bg-card")}>
              <div className="mb-1 flex items-center gap-2 text-xs text-muted-foreground">
                <span className="font-medium">{message.mine ? t("thread.me") : t("thread.support")}</span>
                <span>{formatDateTime(message.at, i18n.language)}</span>
              </div>
              <p className="whitespace-pre-wrap break-words">{message.content}</p>
            </div>
          </li>
        ))}
      </ol>
      {closed ? (
        <p role="status" className="rounded-md border bg-muted/40 p-3 text-sm text-muted-foreground">
          {t("thread.closed")}
        </p>
      ) : null}
      {/* The server refuses replies on a closed ticket: the form stays visible but disabled. */}
      <form
        className="grid gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          if (closed) return;
          if (!reply.trim()) {
            setReplyError(t("thread.empty"));
            return;
          }
          setReplyError("");
          send.mutate();
        }}
      >
        <Field id="ticket-reply" label={t("thread.reply")} error={replyError}>
          <Textarea
            id="ticket-reply"
            rows={4}
            maxLength={20000}
            disabled={closed}
            value={reply}
            onChange={(event) => setReply(event.target.value)}
          />
        </Field>
        <div>
          <Button type="submit" disabled={closed || send.isPending}>
            {t("thread.send")}
          </Button>
        </div>
      </form>
    </div>
  );
}
