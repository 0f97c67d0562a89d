// The delivery log: every message to a channel with its status and tries,
// newest first; a delivery opens with its attempts and body, and one that
// is not pending can be sent again (same event id, fresh signature).
import * as React from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { RotateCcw } from "lucide-react";
import type { NotificationDelivery, NotifierInfo } from "@/gen/rustbill/notification/notification_pb";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { RecordDialog } from "@/components/dialog";
import { FilterSelect } from "@/components/filters";
import { useApiMutation } from "@/components/form";
import { Details, StatusBadge, TitledCard } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";

const STATUSES = ["pending", "sent", "skipped", "parked"] as const;
const KEY = ["notifications", "deliveries"] as const;

export function DeliveryLog({ channels }: { channels: NotifierInfo[] }) {
  const { t } = useTranslation("notifications");
  const [status, setStatus] = React.useState("");
  const [channel, setChannel] = React.useState("");
  const [page, setPage] = React.useState(1);
  const [pageSize, setPageSize] = React.useState(20);
  const [open, setOpen] = React.useState<NotificationDelivery | null>(null);
  const deliveries = useQuery({
    queryKey: [...KEY, status, channel, page, pageSize],
    queryFn: () =>
      api.notifications.listNotificationDeliveries({
        pagination: { page, pageSize },
        status: status || undefined,
        channelId: channel || undefined,
      }),
    placeholderData: keepPreviousData,
  });
  const replay = useApiMutation((id: string) => api.notifications.replayNotificationDelivery({ id }), {
    invalidate: [KEY],
    successMessage: t("deliveries.replayed"),
  });
  const columns: Column<NotificationDelivery>[] = [
    timeColumn("created", t("deliveries.created"), (row) => row.createdAt),
    { key: "event", header: t("deliveries.event"), cell: (row) => <code className="text-xs">{row.eventType}</code> },
    { key: "channel", header: t("deliveries.channel"), cell: (row) => row.channelName || row.channelId },
    { key: "recipient", header: t("deliveries.recipient"), cell: (row) => row.recipient || "—" },
    { key: "status", header: t("deliveries.status"), cell: (row) => <StatusBadge status={row.status} /> },
    { key: "attempts", header: t("deliveries.attempts"), className: "text-right", cell: (row) => row.attempts },
    {
      key: "actions",
      header: <span className="sr-only">{t("deliveries.replay")}</span>,
      cell: (row) =>
        row.status === "pending" ? null : (
          <Button
            variant="outline"
            size="sm"
            disabled={replay.isPending}
            onClick={(event) => {
              event.stopPropagation();
              replay.mutate(row.id);
            }}
          >
            <RotateCcw />
            {t("deliveries.replay")}
          </Button>
        ),
    },
  ];
  return (
    <TitledCard title={t("deliveries.title")} description={t("deliveries.hint")} contentClassName="grid gap-3">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <FilterSelect
          id="delivery-status"
          label={t("deliveries.status")}
          value={status}
          onChange={(value) => {
            setStatus(value);
            setPage(1);
          }}
          options={STATUSES.map((value) => [value, t(value, { ns: "status", defaultValue: value })] as const)}
        />
        <FilterSelect
          id="delivery-channel"
          label={t("deliveries.channel")}
          value={channel}
          onChange={(value) => {
            setChannel(value);
            setPage(1);
          }}
          options={channels.map((item) => [item.channelId, item.channelName] as const)}
        />
      </div>
      <DataTable
        columns={columns}
        rows={deliveries.data?.deliveries}
        rowKey={(row) => row.id}
        meta={deliveries.data?.meta}
        loading={deliveries.isPending}
        error={deliveries.error}
        paging={{ pageSize, setPage, setPageSize: (size) => (setPageSize(size), setPage(1)) }}
        onRowClick={setOpen}
      />
      <RecordDialog record={open} onClose={() => setOpen(null)} title={(row) => `${row.eventType} → ${row.channelName}`}>
        {(row) => <DeliveryDetail id={row.id} />}
      </RecordDialog>
    </TitledCard>
  );
}

function DeliveryDetail({ id }: { id: string }) {
  const { t, i18n } = useTranslation("notifications");
  const detail = useQuery({ queryKey: [...KEY, "one", id], queryFn: () => api.notifications.getNotificationDelivery({ id }) });
  const delivery = detail.data?.delivery;
  if (!delivery) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  return (
    <div className="grid gap-4" data-testid="delivery-detail">
      <Details
        items={[
          [t("deliveries.status"), <StatusBadge key="status" status={delivery.status} />],
          [t("deliveries.eventId"), <code key="event" className="break-all text-xs">{delivery.eventId}</code>],
          [t("deliveries.recipient"), delivery.recipient || "—"],
          [t("deliveries.replays"), String(delivery.replays)],
          [t("deliveries.lastError"), delivery.lastError || "—"],
        ]}
      />
      <Table>
        <THead>
          <TR>
            <TH>{t("deliveries.started")}</TH>
            <TH>{t("deliveries.try")}</TH>
            <TH>{t("deliveries.outcome")}</TH>
            <TH className="text-right">{t("deliveries.duration")}</TH>
          </TR>
        </THead>
        <TBody>
          {detail.data?.attempts.map((attempt) => (
            <TR key={`${attempt.replay}-${attempt.attempt}-${attempt.startedAt}`}>
              <TD className="whitespace-nowrap">{formatDateTime(attempt.startedAt, i18n.language)}</TD>
              <TD>
                {attempt.attempt}
                {attempt.replay > 0 ? ` (${t("deliveries.replayN", { n: attempt.replay })})` : ""}
              </TD>
              <TD>
                <StatusBadge status={attempt.outcome} />
                {attempt.error ? <div className="mt-1 break-all text-xs text-destructive">{attempt.error}</div> : null}
              </TD>
              <TD className="text-right">{String(attempt.durationMs)} ms</TD>
            </TR>
          ))}
        </TBody>
      </Table>
      <pre className="max-h-64 overflow-auto whitespace-pre-wrap rounded-md border bg-muted/40 p-3 text-xs">{detail.data?.body}</pre>
    </div>
  );
}
