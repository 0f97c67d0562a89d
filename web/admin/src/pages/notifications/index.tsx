// Notifications: the enabled notifier channels with the events they take,
// and a hand-sent test message with a result per channel.
import * as React from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { Plug, Send } from "lucide-react";
import type { NotificationResult } from "@/gen/rustbill/notification/notification_pb";
import { Field, useApiMutation } from "@/components/form";
import { PageHeader, QueryError, SinglePageArea, StatusBadge, TableMessage, TitledCard } from "@/components/page";
import { Badge } from "@rustbill/ui/card";
import { Button } from "@rustbill/ui/button";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { api } from "@/lib/api";
import { DeliveryLog } from "./deliveries";
import { useIsAdmin } from "@/lib/auth";
import { formatDateTime } from "@rustbill/ui/utils";

/** Events the server broadcasts to the enabled channels by itself (services/notify broadcast.rs). */
const SYSTEM_EVENTS = [
  "order_paid",
  "order_provisioned",
  "order_cancelled",
  "order_plan_changed",
  "billing.invoice_issued",
  "billing.invoice_paid",
  "billing.overdue",
  "instance.suspended",
  "instance.unsuspended",
  "instance.terminated",
  "identity.verification_code_issued",
  "ticket_assigned",
  "ticket_replied",
] as const;

export default function NotificationsArea() {
  return <SinglePageArea page={<NotificationsPage />} />;
}

function useChannels() {
  const notifiers = useQuery({
    queryKey: ["notifications", "channels"],
    queryFn: async () => (await api.notifications.listNotifiers({})).notifiers,
  });
  const interfaces = useQuery({
    queryKey: ["notifications", "interfaces"],
    queryFn: async () => (await api.integration.listPluginInterfaces({ pluginType: "notifier" })).interfaces,
  });
  return { notifiers, interfaces };
}

function NotificationsPage() {
  const { t } = useTranslation("notifications");
  const { notifiers, interfaces } = useChannels();
  return (
    <div className="grid gap-6">
      <PageHeader
        title={t("title")}
        description={t("subtitle")}
        actions={
          <Button variant="outline" asChild>
            <Link to="/plugins">
              <Plug />
              {t("configure")}
            </Link>
          </Button>
        }
      />
      <Channels notifiers={notifiers} interfaces={interfaces} />
      <div className="grid gap-6 xl:grid-cols-[1fr_22rem]">
        <SendTest channels={notifiers.data ?? []} />
        <SystemEvents />
      </div>
      <DeliveryLog channels={notifiers.data ?? []} />
    </div>
  );
}

function Channels({ notifiers, interfaces }: ReturnType<typeof useChannels>) {
  const { t, i18n } = useTranslation("notifications");
  const byId = new Map((interfaces.data ?? []).map((item) => [item.id, item]));
  const disabled = (interfaces.data ?? []).filter((item) => !item.enabled);
  return (
    <TitledCard title={t("channels.title")} description={t("channels.hint")} contentClassName="grid gap-3">
      {notifiers.error ? (
        <QueryError error={notifiers.error} />
      ) : (
        <Table>
          <THead>
            <TR>
              <TH>{t("channels.name")}</TH>
              <TH>{t("channels.health")}</TH>
              <TH>{t("channels.events")}</TH>
              <TH>{t("channels.lastCheck")}</TH>
              <TH>{t("channels.error")}</TH>
            </TR>
          </THead>
          <TBody>
            {notifiers.isPending ? (
              <TableMessage colSpan={5} className="py-6">{t("loading", { ns: "common" })}</TableMessage>
            ) : (notifiers.data ?? []).length === 0 ? (
              <TableMessage colSpan={5} className="py-6">
                {t("channels.none")}{" "}
                <Link to="/plugins" className="text-primary hover:underline">
                  {t("configure")}
                </Link>
              </TableMessage>
            ) : (
              notifiers.data?.map((channel) => {
                const item = byId.get(channel.channelId);
                return (
                  <TR key={channel.channelId} data-row-key={channel.channelId}>
                    <TD>
                      <Link to={`/plugins/interfaces/${channel.channelId}`} className="font-medium text-primary hover:underline">
                        {channel.channelName}
                      </Link>
                      {item ? <div className="text-xs text-muted-foreground">{item.pluginId}</div> : null}
                    </TD>
                    <TD>
                      <StatusBadge status={channel.isHealthy ? "healthy" : "unhealthy"} />
                    </TD>
                    <TD>
                      <div className="flex flex-wrap gap-1">
                        {channel.supportedEvents.length === 0 ? (
                          <Badge tone="blue">{t("channels.allEvents")}</Badge>
                        ) : (
                          channel.supportedEvents.map((event) => (
                            <Badge key={event} title={event}>
                              {t(`event.${event}`, { defaultValue: event })}
                            </Badge>
                          ))
                        )}
                      </div>
                    </TD>
                    <TD className="whitespace-nowrap">{formatDateTime(item?.lastCheckAt, i18n.language) || "—"}</TD>
                    <TD className="max-w-80 break-words text-xs text-destructive">{item?.scriptError || item?.healthError || ""}</TD>
                  </TR>
                );
              })
            )}
          </TBody>
        </Table>
      )}
      {interfaces.error ? <QueryError error={interfaces.error} /> : null}
      {disabled.length > 0 ? (
        <p className="text-sm text-muted-foreground">
          {t("channels.disabled")}{" "}
          {disabled.map((item, index) => (
            <React.Fragment key={item.id}>
              {index > 0 ? ", " : null}
              <Link to={`/plugins/interfaces/${item.id}`} className="text-primary hover:underline">
                {item.displayName}
              </Link>
            </React.Fragment>
          ))}
        </p>
      ) : null}
    </TitledCard>
  );
}

/** `key=value` lines into a map; the 1-based numbers of lines without "=" are returned too. */
function parseMetadata(text: string): { metadata: Record<string, string>; bad: number[] } {
  const metadata: Record<string, string> = {};
  const bad: number[] = [];
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const at = line.indexOf("=");
    if (at <= 0) bad.push(index + 1);
    else metadata[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return { metadata, bad };
}

function SendTest({ channels }: { channels: { channelId: string; channelName: string; supportedEvents: string[] }[] }) {
  const { t } = useTranslation("notifications");
  const isAdmin = useIsAdmin();
  const [channelId, setChannelId] = React.useState("");
  const [eventType, setEventType] = React.useState("test");
  const [recipient, setRecipient] = React.useState("");
  const [title, setTitle] = React.useState(() => t("send.defaultTitle"));
  const [body, setBody] = React.useState(() => t("send.defaultBody"));
  const [metadataText, setMetadataText] = React.useState("");
  const [results, setResults] = React.useState<NotificationResult[] | null>(null);
  const parsed = parseMetadata(metadataText);
  const send = useApiMutation(
    () =>
      api.notifications.sendNotification({
        eventType,
        title,
        body,
        recipient,
        metadata: parsed.metadata,
        channelIds: channelId ? [channelId] : [],
      }),
    {
      successMessage: t("send.done"),
      onSuccess: (response) => setResults(response.results),
    },
  );
  const names = new Map(channels.map((channel) => [channel.channelId, channel.channelName]));
  const chosen = channels.find((channel) => channel.channelId === channelId);
  const refused =
    chosen && chosen.supportedEvents.length > 0 && eventType.trim() && !chosen.supportedEvents.includes(eventType.trim());
  const knownEvents = [...new Set(["test", ...SYSTEM_EVENTS, ...channels.flatMap((channel) => channel.supportedEvents)])];

  return (
    <TitledCard title={t("send.title")} description={isAdmin ? t("send.hint") : t("send.adminOnly")}>
      <form
        className="grid gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          setResults(null);
          send.mutate(undefined);
        }}
      >
        <fieldset disabled={!isAdmin} className="grid gap-4 sm:grid-cols-2">
          <Field
            label={t("send.channel")}
            htmlFor="notify-channel"
            error={send.errors.channel_ids}
            hint={refused ? t("send.refused", { event: eventType.trim() }) : undefined}
          >
            <Select id="notify-channel" value={channelId} onChange={(event) => setChannelId(event.target.value)}>
              <option value="">{t("send.allChannels")}</option>
              {channels.map((channel) => (
                <option key={channel.channelId} value={channel.channelId}>
                  {channel.channelName}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t("send.eventType")} htmlFor="notify-event" error={send.errors.event_type}>
            <Input
              id="notify-event"
              list="notify-event-types"
              value={eventType}
              required
              maxLength={100}
              aria-invalid={!!send.errors.event_type || undefined}
              onChange={(event) => setEventType(event.target.value)}
            />
            <datalist id="notify-event-types">
              {knownEvents.map((event) => (
                <option key={event} value={event}>
                  {t(`event.${event}`, { defaultValue: event })}
                </option>
              ))}
            </datalist>
          </Field>
          <div className="sm:col-span-2">
            <Field label={t("send.recipient")} htmlFor="notify-recipient" error={send.errors.recipient} hint={t("send.recipientHint")}>
              <Input
                id="notify-recipient"
                value={recipient}
                aria-invalid={!!send.errors.recipient || undefined}
                onChange={(event) => setRecipient(event.target.value)}
              />
            </Field>
          </div>
          <div className="sm:col-span-2">
            <Field label={t("send.subject")} htmlFor="notify-title" error={send.errors.title}>
              <Input
                id="notify-title"
                value={title}
                required
                maxLength={500}
                aria-invalid={!!send.errors.title || undefined}
                onChange={(event) => setTitle(event.target.value)}
              />
            </Field>
          </div>
          <div className="sm:col-span-2">
            <Field label={t("send.body")} htmlFor="notify-body" error={send.errors.body}>
              <Textarea
                id="notify-body"
                rows={4}
                value={body}
                aria-invalid={!!send.errors.body || undefined}
                onChange={(event) => setBody(event.target.value)}
              />
            </Field>
          </div>
          <div className="sm:col-span-2">
            <Field
              label={t("send.metadata")}
              htmlFor="notify-metadata"
              error={parsed.bad.length > 0 ? t("send.metadataBad", { lines: parsed.bad.join(", ") }) : send.errors.metadata}
              hint={t("send.metadataHint")}
            >
              <Textarea
                id="notify-metadata"
                rows={3}
                className="font-mono"
                value={metadataText}
                placeholder="order_id=0192…"
                aria-invalid={parsed.bad.length > 0 || undefined}
                onChange={(event) => setMetadataText(event.target.value)}
              />
            </Field>
          </div>
        </fieldset>
        <div className="flex justify-end">
          <Button type="submit" disabled={!isAdmin || send.isPending || parsed.bad.length > 0}>
            <Send />
            {t("send.submit")}
          </Button>
        </div>
      </form>
      {results ? (
        <section aria-label={t("send.results")} className="mt-4 grid gap-2">
          <h4 className="text-sm font-medium">{t("send.results")}</h4>
          {results.length === 0 ? (
            <p className="text-sm text-muted-foreground">{t("send.noChannels")}</p>
          ) : (
            <Table>
              <THead>
                <TR>
                  <TH>{t("send.channel")}</TH>
                  <TH>{t("send.outcome")}</TH>
                  <TH>{t("channels.error")}</TH>
                </TR>
              </THead>
              <TBody>
                {results.map((result) => (
                  <TR key={result.channelId} data-row-key={result.channelId}>
                    <TD>{names.get(result.channelId) ?? result.channelId}</TD>
                    <TD>
                      <StatusBadge status={result.success ? "success" : "failed"} />
                    </TD>
                    <TD className="break-words text-xs text-destructive">{result.errorMessage}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </section>
      ) : null}
    </TitledCard>
  );
}

function SystemEvents() {
  const { t } = useTranslation("notifications");
  return (
    <TitledCard title={t("system.title")} description={t("system.hint")}>
      <dl className="grid gap-2 text-sm">
        {SYSTEM_EVENTS.map((event) => (
          <div key={event}>
            <dt className="font-medium">
              {t(`event.${event}`)} <code className="text-xs text-muted-foreground">{event}</code>
            </dt>
            <dd className="text-muted-foreground">{t(`system.${event}`)}</dd>
          </div>
        ))}
      </dl>
    </TitledCard>
  );
}
