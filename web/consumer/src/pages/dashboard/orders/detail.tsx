import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useLocation, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import type { OrderInfo, PaymentInfo } from "@/gen/rustbill/order/order_pb";
import { api } from "@/lib/api";
import { Detail, Empty, QueryError, StatusBadge, shortId } from "./parts";
import { PayPanel, PaymentInfoView } from "./payment";

/** While an order is in one of these states the page polls for progress. */
const IN_PROGRESS = ["pending", "paid", "provisioning"];
const POLL_MS = 5000;

export default function OrderDetail() {
  const { t, i18n } = useTranslation("orders");
  const { id = "" } = useParams();
  const location = useLocation();
  const [payment, setPayment] = React.useState<PaymentInfo | undefined>(
    (location.state as { payment?: PaymentInfo } | null)?.payment,
  );
  const order = useQuery({
    queryKey: ["orders", "detail", id],
    queryFn: () => api.orders.getOrder({ id }),
    refetchInterval: (query) => (IN_PROGRESS.includes(query.state.data?.order?.status ?? "") ? POLL_MS : false),
  });
  const info = order.data?.order;
  const polling = IN_PROGRESS.includes(info?.status ?? "") ? POLL_MS : false;
  // The instance and payment cards poll only while the order is in
  // progress; the step that ends it (paid → active) must show there too.
  const client = useQueryClient();
  const status = info?.status;
  React.useEffect(() => {
    if (!status) return;
    void client.invalidateQueries({ queryKey: ["instances", "byOrder", id] });
    void client.invalidateQueries({ queryKey: ["payments", "byOrder", id] });
  }, [client, id, status]);

  if (order.isError) return <QueryError error={order.error} onRetry={() => void order.refetch()} />;
  if (order.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  if (!info) return <Empty>{t("notFound")}</Empty>;

  return (
    <div className="grid gap-4">
      <Link to="/dashboard/orders" className="text-sm text-muted-foreground hover:text-primary">
        ← {t("backToList")}
      </Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">{t("detailTitle", { number: shortId(info.id) })}</h1>
        <StatusBadge kind="order" status={info.status} />
        <Button variant="outline" size="sm" className="ml-auto" onClick={() => void order.refetch()}>
          {t("action.refresh", { ns: "common" })}
        </Button>
      </div>
      {polling ? <p className="text-sm text-muted-foreground">{t(`progress.${info.status}`)}</p> : null}

      {info.status === "pending" ? (
        <>
          <PayPanel order={info} onPayment={setPayment} />
          {payment ? <PaymentInfoView payment={payment} /> : null}
        </>
      ) : null}

      <div className="grid gap-4 lg:grid-cols-2">
        <OrderSummary order={info} />
        <div className="grid content-start gap-4">
          <OrderInstance orderId={info.id} refetchInterval={polling} />
          <Card>
            <CardHeader>
              <CardTitle>{t("spec.title")}</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="grid grid-cols-2 gap-3">
                <Detail label={t("spec.cpu")}>{info.serverSpec?.cpuCores || ""}</Detail>
                <Detail label={t("spec.memory")}>{info.serverSpec?.memoryGb ? `${info.serverSpec.memoryGb} GB` : ""}</Detail>
                <Detail label={t("spec.disk")}>{info.serverSpec?.diskGb ? `${info.serverSpec.diskGb} GB` : ""}</Detail>
                <Detail label={t("spec.bandwidth")}>{info.serverSpec?.bandwidthMbps ? `${info.serverSpec.bandwidthMbps} Mbps` : ""}</Detail>
                <Detail label={t("spec.region")}>{info.serverSpec?.region}</Detail>
                <Detail label={t("spec.os")}>{info.serverSpec?.os}</Detail>
                {Object.entries(info.serverSpec?.extraSpecs ?? {}).map(([key, value]) => (
                  <Detail key={key} label={key}>
                    {value}
                  </Detail>
                ))}
              </dl>
            </CardContent>
          </Card>
        </div>
      </div>
      <OrderPayments orderId={info.id} refetchInterval={polling} locale={i18n.language} />
    </div>
  );
}

function OrderSummary({ order }: { order: OrderInfo }) {
  const { t, i18n } = useTranslation("orders");
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("summary")}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Detail label={t("field.product")}>{order.productName || t("unnamedProduct")}</Detail>
          <Detail label={t("field.amount")}>{formatMoney(order.amount, order.currency)}</Detail>
          <Detail label={t("field.billingCycle")}>{t(`cycle.${order.billingCycle}`, { defaultValue: order.billingCycle })}</Detail>
          <Detail label={t("field.status")}>
            <StatusBadge kind="order" status={order.status} />
          </Detail>
          <Detail label={t("field.createdAt")}>{formatDateTime(order.createdAt, i18n.language)}</Detail>
          <Detail label={t("field.updatedAt")}>{formatDateTime(order.updatedAt, i18n.language)}</Detail>
          <Detail label={t("field.id")}>
            <span className="font-mono text-xs">{order.id}</span>
          </Detail>
          <Detail label={t("field.notes")}>{order.notes}</Detail>
        </dl>
      </CardContent>
    </Card>
  );
}

function OrderInstance({ orderId, refetchInterval }: { orderId: string; refetchInterval: number | false }) {
  const { t } = useTranslation("orders");
  const instances = useQuery({
    queryKey: ["instances", "byOrder", orderId],
    queryFn: () => api.instances.listInstances({ orderId }),
    refetchInterval,
  });
  const instance = instances.data?.instances[0];
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("instance.title")}</CardTitle>
      </CardHeader>
      <CardContent>
        {instances.isError ? (
          <QueryError error={instances.error} onRetry={() => void instances.refetch()} />
        ) : instance ? (
          <div className="flex flex-wrap items-center gap-3 text-sm">
            <StatusBadge kind="instance" status={instance.status} />
            <span className="font-mono">{instance.ipAddress || t("instance.noAddress")}</span>
            <Button asChild size="sm" className="ml-auto">
              <Link to={`/dashboard/instances/${instance.id}`}>{t("instance.open")}</Link>
            </Button>
          </div>
        ) : instances.isPending ? (
          <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
        ) : (
          <p className="text-sm text-muted-foreground">{t("instance.none")}</p>
        )}
      </CardContent>
    </Card>
  );
}

function OrderPayments({ orderId, refetchInterval, locale }: { orderId: string; refetchInterval: number | false; locale: string }) {
  const { t } = useTranslation("orders");
  const payments = useQuery({
    queryKey: ["payments", "byOrder", orderId],
    queryFn: () => api.payments.listPayments({ orderId }),
    refetchInterval,
  });
  const gateways = useQuery({
    queryKey: ["integration", "gateways"],
    queryFn: () => api.integration.listGateways({}),
  });
  const methodName = (id: string) =>
    id === "balance"
      ? t("pay.balance")
      : (gateways.data?.gateways.find((gateway) => gateway.gatewayId === id)?.gatewayName ?? t("payments.gateway"));
  return (
    <section className="grid gap-2">
      <h2 className="text-lg font-semibold">{t("payments.title")}</h2>
      {payments.isError ? (
        <QueryError error={payments.error} onRetry={() => void payments.refetch()} />
      ) : payments.isPending ? (
        <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
      ) : payments.data.payments.length === 0 ? (
        <Empty>{t("payments.empty")}</Empty>
      ) : (
        <Table>
          <THead>
            <TR>
              <TH>{t("field.createdAt")}</TH>
              <TH>{t("field.amount")}</TH>
              <TH>{t("payments.method")}</TH>
              <TH>{t("field.status")}</TH>
              <TH>{t("payments.paidAt")}</TH>
            </TR>
          </THead>
          <TBody>
            {payments.data.payments.map((record) => (
              <TR key={record.id} data-row-key={record.id}>
                <TD className="whitespace-nowrap">{formatDateTime(record.createdAt, locale)}</TD>
                <TD className="whitespace-nowrap">{formatMoney(record.amount, record.currency)}</TD>
                <TD>{methodName(record.gatewayInterfaceId)}</TD>
                <TD>
                  <StatusBadge kind="payment" status={record.status} />
                </TD>
                <TD className="whitespace-nowrap">{formatDateTime(record.paidAt, locale) || "--"}</TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </section>
  );
}
