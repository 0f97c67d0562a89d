import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Lock, Pencil, RefreshCw, Send } from "lucide-react";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import type { TicketInfo } from "@/gen/rustbill/ticket/ticket_pb";
import { ConfirmButton } from "@/components/confirm";
import { DialogActions } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { BackLink, Details, Loading, PageHeader, QueryError, StatusBadge, TitledCard } from "@/components/page";
import { Badge, Card, CardContent } from "@rustbill/ui/card";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import { Checkbox, Label, Select, Textarea } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { useIsAdmin, useMe } from "@/lib/auth";
import { cn, formatDateTime } from "@rustbill/ui/utils";
import { DescriptionField, nextStatuses, PriorityBadge, PriorityOptions, replyKind, staffName, useCustomers, useStaff } from "./shared";

type TicketChange = { status?: string; priority?: string; assigneeUserId?: string; description?: string };

export function TicketDetail() {
  const { id = "" } = useParams();
  const { t } = useTranslation("tickets");
  const ticket = useQuery({
    queryKey: ["tickets", "detail", id],
    queryFn: async () => (await api.tickets.getTicket({ id })).ticket ?? null,
    refetchInterval: 30_000,
  });
  const staff = useStaff();
  const back = (
    <BackLink to="/tickets" variant="outline">
      {t("action.back", { ns: "common" })}
    </BackLink>
  );
  if (ticket.error) {
    return (
      <div>
        <PageHeader title={t("detailTitle")} actions={back} />
        <QueryError error={ticket.error} />
      </div>
    );
  }
  if (ticket.isPending || staff.isPending) return <Loading />;
  if (!ticket.data) return <QueryError error={new Error(t("notFound"))} />;
  return (
    <TicketView
      ticket={ticket.data}
      staff={staff.data ?? []}
      back={back}
      refreshing={ticket.isFetching}
      onRefresh={() => void ticket.refetch()}
    />
  );
}

function TicketView({
  ticket,
  staff,
  back,
  refreshing,
  onRefresh,
}: {
  ticket: TicketInfo;
  staff: UserInfo[];
  back: React.ReactNode;
  refreshing: boolean;
  onRefresh: () => void;
}) {
  const { t, i18n } = useTranslation("tickets");
  const me = useMe();
  const isAdmin = useIsAdmin();
  const navigate = useNavigate();
  const client = useQueryClient();
  const staffById = new Map(staff.map((user) => [user.id, user]));
  const customer = useCustomers([ticket.customerId]).get(ticket.customerId);
  const customerName = customer?.name ?? t("customer");
  const update = useApiMutation((change: TicketChange) => api.tickets.updateTicket({ id: ticket.id, ...change }), {
    invalidate: [["tickets"]],
    successMessage: t("updated"),
  });
  const moves = nextStatuses(ticket.status);
  const assignable = staff.filter((user) => user.isActive || user.id === ticket.assigneeUserId);
  const creator = ticket.creatorUserId ? staffById.get(ticket.creatorUserId) : undefined;

  return (
    <div>
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-2">
            {ticket.title}
            <StatusBadge status={ticket.status} />
            <PriorityBadge priority={ticket.priority} />
          </span>
        }
        description={
          <>
            <Link to={`/customers/${ticket.customerId}`} className="text-primary hover:underline">
              {customerName}
            </Link>{" "}
            · {t("openedAt", { time: formatDateTime(ticket.createdAt, i18n.language) })}
          </>
        }
        actions={
          <>
            {back}
            <Button variant="outline" onClick={onRefresh} disabled={refreshing}>
              <RefreshCw />
              {t("action.refresh", { ns: "common" })}
            </Button>
          </>
        }
      />
      <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
        <div className="grid content-start gap-4">
          <section aria-label={t("conversation")} className="grid gap-3">
            <Message
              author={creator ? t("openedBy", { name: staffName(creator) }) : customerName}
              kind={creator ? "staff" : "customer"}
              time={ticket.createdAt}
              actions={<EditDescription ticket={ticket} />}
            >
              {ticket.description || <span className="italic text-muted-foreground">{t("noDescription")}</span>}
            </Message>
            {ticket.replies.map((reply) => {
              const kind = replyKind(reply);
              const user = reply.userId ? staffById.get(reply.userId) : undefined;
              return (
                <Message
                  key={reply.id}
                  replyId={reply.id}
                  author={kind === "staff" ? staffName(user) || t("staff") : customerName}
                  kind={kind}
                  internal={reply.isInternal}
                  time={reply.createdAt}
                >
                  {reply.content}
                </Message>
              );
            })}
          </section>
          <ReplyBox ticket={ticket} />
        </div>

        <div className="grid content-start gap-4">
          <TitledCard title={t("handling")} contentClassName="grid gap-4">
            <div className="grid gap-1.5">
              <span className="text-sm font-medium">{t("field.status")}</span>
              <div className="flex flex-wrap gap-2">
                {moves.length === 0 ? <span className="text-sm text-muted-foreground">{t("closedFinal")}</span> : null}
                {moves
                  .filter((status) => status !== "closed")
                  .map((status) => (
                    <Button
                      key={status}
                      variant="outline"
                      size="sm"
                      disabled={update.isPending}
                      onClick={() => update.mutate({ status })}
                    >
                      {t(status === "processing" && ticket.status === "resolved" ? "transition.reopen" : `transition.${status}`)}
                    </Button>
                  ))}
                {moves.includes("closed") ? (
                  <ConfirmButton
                    size="sm"
                    title={t("closeConfirm.title")}
                    description={t("closeConfirm.description")}
                    confirmLabel={t("transition.closed")}
                    onConfirm={() => update.mutateAsync({ status: "closed" }).catch(() => undefined)}
                  >
                    {t("transition.closed")}
                  </ConfirmButton>
                ) : null}
              </div>
              {update.errors.status ? (
                <p className="text-xs text-destructive" role="alert">
                  {update.errors.status}
                </p>
              ) : null}
            </div>
            <Field label={t("field.assignee")} htmlFor="ticket-assignee" error={update.errors.assignee_user_id}>
              <div className="flex gap-2">
                <Select
                  id="ticket-assignee"
                  value={ticket.assigneeUserId}
                  disabled={update.isPending}
                  onChange={(event) => update.mutate({ assigneeUserId: event.target.value })}
                >
                  <option value="">{t("unassigned")}</option>
                  {ticket.assigneeUserId && !staffById.has(ticket.assigneeUserId) ? (
                    <option value={ticket.assigneeUserId}>{ticket.assigneeUserId}</option>
                  ) : null}
                  {assignable.map((user) => (
                    <option key={user.id} value={user.id}>
                      {staffName(user)}
                      {user.id === me.id ? ` (${t("me")})` : ""}
                    </option>
                  ))}
                </Select>
                {ticket.assigneeUserId !== me.id ? (
                  <Button variant="outline" disabled={update.isPending} onClick={() => update.mutate({ assigneeUserId: me.id })}>
                    {t("assignToMe")}
                  </Button>
                ) : null}
              </div>
            </Field>
            <Field label={t("field.priority")} htmlFor="ticket-priority" error={update.errors.priority}>
              <Select
                id="ticket-priority"
                value={ticket.priority}
                disabled={update.isPending}
                onChange={(event) => update.mutate({ priority: event.target.value })}
              >
                <PriorityOptions />
              </Select>
            </Field>
          </TitledCard>

          <TitledCard title={t("details")} contentClassName="grid gap-3">
            <Details
              items={[
                [t("field.id"), <code className="text-xs">{ticket.id}</code>],
                [
                  t("field.customer"),
                  <span className="grid">
                    <Link to={`/customers/${ticket.customerId}`} className="text-primary hover:underline">
                      {customerName}
                    </Link>
                    {customer?.email ? <span className="text-xs text-muted-foreground">{customer.email}</span> : null}
                  </span>,
                ],
                [t("field.createdBy"), creator ? staffName(creator) : customerName],
                [t("field.createdAt"), formatDateTime(ticket.createdAt, i18n.language)],
                [t("field.updatedAt"), formatDateTime(ticket.updatedAt, i18n.language)],
                [t("field.replies"), ticket.replies.length],
              ]}
            />
            <Link to={`/tickets?customer=${ticket.customerId}`} className="text-sm text-primary hover:underline">
              {t("customerTickets")}
            </Link>
          </TitledCard>

          {isAdmin ? (
            <ConfirmButton
              title={t("deleteConfirm.title")}
              description={t("deleteConfirm.description", { title: ticket.title })}
              confirmLabel={t("action.delete", { ns: "common" })}
              onConfirm={async () => {
                await api.tickets.deleteTicket({ id: ticket.id });
                client.removeQueries({ queryKey: ["tickets", "detail", ticket.id] });
                await client.invalidateQueries({ queryKey: ["tickets", "list"] });
                toast.success(t("deleted"));
                navigate("/tickets");
              }}
            >
              {t("deleteTicket")}
            </ConfirmButton>
          ) : null}
        </div>
      </div>
    </div>
  );
}

function Message({
  author,
  kind,
  internal = false,
  time,
  replyId,
  actions,
  children,
}: {
  author: string;
  kind: "staff" | "customer";
  internal?: boolean;
  time: string;
  replyId?: string;
  actions?: React.ReactNode;
  children: React.ReactNode;
}) {
  const { t, i18n } = useTranslation("tickets");
  return (
    <article
      data-reply-id={replyId}
      data-internal={internal || undefined}
      className={cn(
        "grid gap-2 rounded-lg border p-4",
        internal
          ? "border-dashed border-yellow-500/60 bg-yellow-500/10"
          : kind === "staff"
            ? "ml-6 border-primary/30 bg-primary/5"
            : "mr-6 bg-card",
      )}
    >
      <header className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium">{author}</span>
        <Badge tone={kind === "staff" ? "blue" : "neutral"}>{kind === "staff" ? t("staff") : t("customer")}</Badge>
        {internal ? (
          <Badge tone="yellow">
            <Lock className="mr-1 size-3" />
            {t("reply.internalNote")}
          </Badge>
        ) : null}
        <time className="ml-auto text-xs text-muted-foreground" dateTime={time}>
          {formatDateTime(time, i18n.language)}
        </time>
        {actions}
      </header>
      <div className="whitespace-pre-wrap break-words text-sm">{children}</div>
    </article>
  );
}

function ReplyBox({ ticket }: { ticket: TicketInfo }) {
  const { t } = useTranslation("tickets");
  const [content, setContent] = React.useState("");
  const [internal, setInternal] = React.useState(false);
  const send = useApiMutation(
    () => api.tickets.createReply({ ticketId: ticket.id, content, isInternal: internal }),
    {
      invalidate: [["tickets"]],
      successMessage: internal ? t("reply.noteAdded") : t("reply.sent"),
      onSuccess: () => {
        setContent("");
        setInternal(false);
      },
    },
  );
  const closed = ticket.status === "closed";
  return (
    <Card>
      <CardContent className="pt-4">
        <form
          className="grid gap-3"
          onSubmit={(event) => {
            event.preventDefault();
            send.mutate(undefined);
          }}
        >
          <Field
            label={t("reply.label")}
            htmlFor="ticket-reply"
            error={send.errors.content}
            hint={closed ? t("reply.closed") : undefined}
          >
            <Textarea
              id="ticket-reply"
              rows={5}
              value={content}
              disabled={closed}
              aria-invalid={!!send.errors.content || undefined}
              className={cn(internal && "border-yellow-500/60 bg-yellow-500/5")}
              placeholder={internal ? t("reply.notePlaceholder") : t("reply.placeholder")}
              onChange={(event) => setContent(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                  event.preventDefault();
                  event.currentTarget.form?.requestSubmit();
                }
              }}
            />
          </Field>
          <div className="flex flex-wrap items-center justify-between gap-3">
            <div className="grid gap-1">
              <div className="flex items-center gap-2">
                <Checkbox
                  id="ticket-reply-internal"
                  checked={internal}
                  disabled={closed}
                  onChange={(event) => setInternal(event.target.checked)}
                />
                <Label htmlFor="ticket-reply-internal">{t("reply.internalNote")}</Label>
              </div>
              <p className="text-xs text-muted-foreground">{internal ? t("reply.internalHint") : t("reply.publicHint")}</p>
            </div>
            <Button type="submit" disabled={closed || send.isPending || !content.trim()}>
              <Send />
              {t("reply.send")}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

function EditDescription({ ticket }: { ticket: TicketInfo }) {
  const { t } = useTranslation("tickets");
  const [open, setOpen] = React.useState(false);
  const [description, setDescription] = React.useState(ticket.description);
  const save = useApiMutation(() => api.tickets.updateTicket({ id: ticket.id, description }), {
    invalidate: [["tickets"]],
    onSuccess: () => setOpen(false),
  });
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (next) {
          setDescription(ticket.description);
          save.setErrors({});
        }
        setOpen(next);
      }}
    >
      <Button variant="ghost" size="sm" className="h-6 px-2" onClick={() => setOpen(true)}>
        <Pencil />
        {t("editDescription")}
      </Button>
      <DialogContent title={t("editDescription")}>
        <Form onSubmit={() => save.mutate(undefined)}>
          <DescriptionField id="ticket-description" rows={10} value={description} onChange={setDescription} error={save.errors.description} />
          <DialogActions submit={t("action.save", { ns: "common" })} onCancel={() => setOpen(false)} disabled={save.isPending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
