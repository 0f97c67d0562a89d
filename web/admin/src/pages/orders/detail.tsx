import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { toast } from "sonner";
import { ActivityCard } from "@/components/activity";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { Field, Form, useApiMutation } from "@/components/form";
import { BackLink, Details, LoadedRecord, PageHeader, QueryError, StatusBadge, TitledCard } from "@/components/page";
import { CustomerLink, IdLink, Mono, ShortId, shortId } from "@/components/refs";
import { Button } from "@rustbill/ui/button";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import type { InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import type { OrderInfo } from "@/gen/rustbill/order/order_pb";
import type { PaymentRecord } from "@/gen/rustbill/payment/payment_pb";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { ProviderName, SpecCard, specMap } from "./shared";
import { DELETABLE_STATUSES, settableStatuses, statusesReachedElsewhere } from "./status";

/** What an order change may alter elsewhere: lists, the customer's pages, payments (refunds), the instance. */
const AFTER_ORDER_CHANGE = [["orders"], ["customers"], ["payments"], ["instances"]];

// Followed every 5 s: a payment may arrive, provisioning may finish.
const IN_PROGRESS = ["pending", "paid", "provisioning"];

export function OrderDetail() {
  const { id = "" } = useParams();
  const order = useQuery({
    queryKey: ["orders", "get", id],
    queryFn: async () => (await api.orders.getOrder({ id })).order ?? null,
    // Provisioning runs in the background after a payment: follow it.
    refetchInterval: (query) => (IN_PROGRESS.includes(query.state.data?.status ?? "") ? 5_000 : false),
  });
  return <LoadedRecord query={order}>{(record) => <OrderView order={record} />}</LoadedRecord>;
}

function usePaymentMethods() {
  return useQuery({
    queryKey: ["plugins", "gateways", "ref"],
    queryFn: async () => (await api.integration.listGateways({})).gateways,
    staleTime: 5 * 60_000,
  });
}

function PaymentMethod({ id }: { id: string }) {
  const { t } = useTranslation("orders");
  const gateways = usePaymentMethods();
  if (!id) return null;
  if (id === "balance") return <>{t("gateway.balance")}</>;
  const gateway = gateways.data?.find((item) => item.gatewayId === id);
  return gateway ? <>{gateway.gatewayName}</> : <ShortId id={id} />;
}

function OrderView({ order }: { order: OrderInfo }) {
  const { t, i18n } = useTranslation("orders");
  const payments = useQuery({
    queryKey: ["payments", "order", order.id],
    queryFn: () => api.payments.listPayments({ orderId: order.id, pagination: { page: 1, pageSize: 100 } }),
  });
  const tookMoney =
    order.gatewayPaymentId !== "" ||
    (payments.data?.payments ?? []).some((payment) => payment.status === "success" || payment.status === "refunded");
  const deletable = DELETABLE_STATUSES.includes(order.status) && !tookMoney;

  return (
    <div className="grid gap-4">
      <PageHeader
        title={t("detail.title", { id: shortId(order.id) })}
        badge={<StatusBadge status={order.status} />}
        description={order.productName}
        actions={
          <>
            <BackLink to="/orders" variant="outline">
              {t("detail.backToList")}
            </BackLink>
            {deletable ? <DeleteOrder order={order} /> : null}
          </>
        }
      />
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="grid content-start gap-4 lg:col-span-2">
          <TitledCard title={t("detail.summary")}>
            <Details
            items={[
              [t("detail.id"), <Mono>{order.id}</Mono>],
              [t("detail.status"), <StatusBadge status={order.status} />],
              [t("detail.customer"), <CustomerLink id={order.customerId} />],
              [t("detail.product"), order.productName],
              [t("detail.cycle"), t(`cycles.${order.billingCycle}`, { defaultValue: order.billingCycle })],
              [t("detail.amount"), formatMoney(order.amount, order.currency)],
              ...(order.couponCode
                ? ([
                    [t("detail.listAmount"), formatMoney(order.listAmount, order.currency)],
                    [
                      t("detail.coupon"),
                      `${order.couponCode} (−${formatMoney(order.discountAmount, order.currency)}; ${
                        order.couponPeriodsLeft < 0
                          ? t("detail.couponForever")
                          : t("detail.couponPeriodsLeft", { count: order.couponPeriodsLeft })
                      })`,
                    ],
                  ] as [string, React.ReactNode][])
                : []),
              [t("detail.gateway"), <PaymentMethod id={order.gatewayInterfaceId} />],
              [t("detail.gatewayPaymentId"), order.gatewayPaymentId ? <Mono>{order.gatewayPaymentId}</Mono> : ""],
              [t("detail.provider"), <ProviderName id={order.providerInterfaceId} />],
              [t("detail.providerInstanceId"), order.providerInstanceId ? <Mono>{order.providerInstanceId}</Mono> : ""],
              [t("detail.created"), formatDateTime(order.createdAt, i18n.language)],
              [t("detail.updated"), formatDateTime(order.updatedAt, i18n.language)],
              ]}
            />
          </TitledCard>
          <SpecCard title={t("detail.spec")} spec={specMap(order.serverSpec)} providerId={order.providerInterfaceId} />
          <OrderPayments rows={payments.data?.payments} loading={payments.isPending} error={payments.error} />
          <ActivityCard area="orders" targetType="order" targetId={order.id} />
        </div>
        <div className="grid content-start gap-4">
          <StatusCard key={order.status} order={order} />
          {order.status === "active" ? <PlanChangeCard order={order} /> : null}
          <OrderInstance order={order} />
          <EditCard key={`${order.notes}\u0000${order.providerInstanceId}`} order={order} />
        </div>
      </div>
    </div>
  );
}

function StatusCard({ order }: { order: OrderInfo }) {
  const { t } = useTranslation("orders");
  const isAdmin = useIsAdmin();
  const [target, setTarget] = React.useState("");
  const settable = settableStatuses(order.status);
  const elsewhere = statusesReachedElsewhere(order.status);
  const change = useApiMutation((status: string) => api.orders.updateOrder({ id: order.id, status }), {
    invalidate: AFTER_ORDER_CHANGE,
    successMessage: t("statusChange.done"),
  });
  const targetLabel = target ? t(`statuses.${target}`) : "";
  return (
    <TitledCard title={t("statusChange.title")} contentClassName="grid gap-3">
      {settable.length === 0 && elsewhere.length === 0 ? (
        <p className="text-sm text-muted-foreground">
          {t("statusChange.final", { status: t(`statuses.${order.status}`, { defaultValue: order.status }) })}
        </p>
      ) : null}
      {settable.length > 0 ? (
        <>
          <Field
            label={t("statusChange.next")}
            htmlFor="order-next-status"
            error={change.errors.status}
            hint={isAdmin ? undefined : t("statusChange.adminOnly")}
          >
            <Select
              id="order-next-status"
              value={target}
              disabled={!isAdmin}
              onChange={(event) => setTarget(event.target.value)}
            >
              <option value="">{t("statusChange.choose")}</option>
              {settable.map((status) => (
                <option key={status} value={status}>
                  {t(`statuses.${status}`)}
                </option>
              ))}
            </Select>
          </Field>
          <ConfirmButton
            className="justify-self-start"
            disabled={!isAdmin || !target || change.isPending}
            destructive={target === "cancelled"}
            title={t("statusChange.confirmTitle", { status: targetLabel })}
            description={target ? t(`statusChange.effects.${target}`) : undefined}
            // useApiMutation has already reported a failure (toast and field error).
            onConfirm={() => change.mutateAsync(target).catch(() => undefined)}
          >
            {t("statusChange.submit")}
          </ConfirmButton>
        </>
      ) : null}
      {elsewhere.length > 0 ? (
        <ul className="grid gap-1 text-xs text-muted-foreground">
          {elsewhere.map((status) => (
            <li key={status}>{t(`statusChange.elsewhere.${status}`)}</li>
          ))}
        </ul>
      ) : null}
    </TitledCard>
  );
}

function DeleteOrder({ order }: { order: OrderInfo }) {
  const { t } = useTranslation("orders");
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  const navigate = useNavigate();
  return (
    <ConfirmButton
      disabled={!isAdmin}
      title={t("remove.confirmTitle")}
      description={t("remove.confirmDescription")}
      onConfirm={async () => {
        await api.orders.deleteOrder({ id: order.id });
        toast.success(t("remove.done"));
        navigate("/orders");
        client.removeQueries({ queryKey: ["orders", "get", order.id] });
        await client.invalidateQueries({ queryKey: ["orders", "list"] });
        await client.invalidateQueries({ queryKey: ["customers"] });
      }}
    >
      {t("remove.button")}
    </ConfirmButton>
  );
}

/** The order's instance, if it has one. */
async function findOrderInstance(order: OrderInfo): Promise<InstanceInfo | null> {
  const response = await api.instances.listInstances({ orderId: order.id, pagination: { page: 1, pageSize: 1 } });
  return response.instances[0] ?? null;
}

function OrderInstance({ order }: { order: OrderInfo }) {
  const { t } = useTranslation("orders");
  const instance = useQuery({
    // Keyed by the order's status too: provisioning an order creates its instance.
    queryKey: ["instances", "of-order", order.id, order.status],
    queryFn: () => findOrderInstance(order),
  });
  return (
    <TitledCard title={t("instance.title")} contentClassName="grid gap-3">
      {instance.error ? <QueryError error={instance.error} /> : null}
      {instance.data === null ? <p className="text-sm text-muted-foreground">{t("instance.none")}</p> : null}
      {instance.data ? (
        <>
          <Details
            items={[
              [t("instance.status"), <StatusBadge status={instance.data.status} />],
              [t("instance.ip"), instance.data.ipAddress ? <Mono>{instance.data.ipAddress}</Mono> : ""],
            ]}
          />
          <Button asChild variant="outline" size="sm" className="justify-self-start">
            <Link to={`/instances/${instance.data.id}`}>{t("instance.open")}</Link>
          </Button>
        </>
      ) : null}
    </TitledCard>
  );
}

function EditCard({ order }: { order: OrderInfo }) {
  const { t } = useTranslation("orders");
  const { t: tc } = useTranslation();
  const [notes, setNotes] = React.useState(order.notes);
  const [providerInstanceId, setProviderInstanceId] = React.useState(order.providerInstanceId);
  const dirty = notes !== order.notes || providerInstanceId !== order.providerInstanceId;
  const save = useApiMutation(
    () =>
      api.orders.updateOrder({
        id: order.id,
        notes: notes !== order.notes ? notes : undefined,
        providerInstanceId: providerInstanceId !== order.providerInstanceId ? providerInstanceId : undefined,
      }),
    { invalidate: AFTER_ORDER_CHANGE, successMessage: t("edit.saved") },
  );
  return (
    <TitledCard title={t("edit.title")}>
      <Form className="gap-3" onSubmit={() => save.mutate()}>
          <Field label={t("edit.notes")} htmlFor="order-notes" error={save.errors.notes}>
            <Textarea id="order-notes" value={notes} maxLength={1000} onChange={(event) => setNotes(event.target.value)} />
          </Field>
          <Field
            label={t("edit.providerInstanceId")}
            htmlFor="order-provider-instance-id"
            error={save.errors.provider_instance_id}
            hint={t("edit.providerInstanceIdHint")}
          >
            <Input
              id="order-provider-instance-id"
              value={providerInstanceId}
              maxLength={200}
              onChange={(event) => setProviderInstanceId(event.target.value)}
            />
          </Field>
          <Button type="submit" className="justify-self-start" disabled={!dirty || save.isPending}>
            {tc("action.save")}
          </Button>
      </Form>
    </TitledCard>
  );
}

function OrderPayments({ rows, loading, error }: { rows: PaymentRecord[] | undefined; loading: boolean; error: unknown }) {
  const { t } = useTranslation("orders");
  const columns: Column<PaymentRecord>[] = [
    {
      key: "id",
      header: t("payments.id"),
      cell: (payment) => <IdLink to={`/payments/${payment.id}`} id={payment.id} />,
    },
    {
      key: "amount",
      header: t("payments.amount"),
      className: "text-right whitespace-nowrap",
      cell: (payment) => formatMoney(payment.amount, payment.currency),
    },
    {
      key: "refunded",
      header: t("payments.refunded"),
      className: "text-right whitespace-nowrap",
      cell: (payment) =>
        payment.refundedAmount && Number(payment.refundedAmount) > 0 ? formatMoney(payment.refundedAmount, payment.currency) : "",
    },
    { key: "gateway", header: t("payments.gateway"), cell: (payment) => <PaymentMethod id={payment.gatewayInterfaceId} /> },
    { key: "status", header: t("payments.status"), cell: (payment) => <StatusBadge status={payment.status} /> },
    timeColumn("paid", t("payments.paidAt"), (payment) => payment.paidAt),
    timeColumn("created", t("payments.created"), (payment) => payment.createdAt),
  ];
  return (
    <TitledCard title={t("payments.title")}>
      {rows && rows.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("payments.none")}</p>
      ) : (
        <DataTable columns={columns} rows={rows} rowKey={(payment) => payment.id} loading={loading} error={error} />
      )}
    </TitledCard>
  );
}

/** Moves an active service to another product of its provider: the
 * prorated quote first, then the change (or its schedule). */
function PlanChangeCard({ order }: { order: OrderInfo }) {
  const { t } = useTranslation("orders");
  const client = useQueryClient();
  const [productId, setProductId] = React.useState("");
  const products = useQuery({
    queryKey: ["products", "provider", order.providerInterfaceId],
    queryFn: async () =>
      (await api.products.listProducts({ interfaceId: order.providerInterfaceId, isActive: true, pagination: { page: 1, pageSize: 100 } }))
        .products,
  });
  const quote = useQuery({
    queryKey: ["orders", "plan-quote", order.id, productId],
    queryFn: async () => (await api.orders.previewPlanChange({ orderId: order.id, productId })).quote ?? null,
    enabled: productId !== "",
    retry: false,
  });
  const change = useApiMutation(() => api.orders.changePlan({ orderId: order.id, productId }), {
    successMessage: t("plan.done"),
    onSuccess: async () => {
      setProductId("");
      for (const key of AFTER_ORDER_CHANGE) await client.invalidateQueries({ queryKey: key });
    },
  });
  const cancel = useApiMutation(() => api.orders.cancelPlanChange({ orderId: order.id }), { successMessage: t("plan.cancelled") });
  const q = quote.data;
  const money = (value: string) => formatMoney(value, order.currency);
  return (
    <TitledCard title={t("plan.title")} description={t("plan.hint")} contentClassName="grid gap-3">
      <Field label={t("plan.product")} htmlFor="plan-product" error={change.errors.product_id}>
        <Select id="plan-product" value={productId} onChange={(event) => setProductId(event.target.value)}>
          <option value="">{t("plan.choose")}</option>
          {(products.data ?? [])
            .filter((product) => product.id !== order.productId)
            .map((product) => (
              <option key={product.id} value={product.id}>
                {product.name}
              </option>
            ))}
        </Select>
      </Field>
      {quote.error ? <QueryError error={quote.error} /> : null}
      {q ? (
        <dl className="grid grid-cols-[1fr_auto] gap-x-3 gap-y-1 text-sm" data-testid="plan-quote">
          {(
            [
              [t("plan.timing"), t(`plan.timings.${q.timing}`, { defaultValue: q.timing })],
              [t("plan.newPrice"), money(q.newListAmount)],
              ...(q.timing === "immediate"
                ? [
                    [t("plan.left"), `${Math.round((Number(q.secondsLeft) / Math.max(1, Number(q.periodSeconds))) * 1000) / 10}%`],
                    [t("plan.credit"), money(q.creditAmount)],
                    [t("plan.charge"), money(q.chargeAmount)],
                    [t("plan.net"), money(q.netAmount)],
                  ]
                : []),
            ] as [string, string][]
          ).map(([label, value]) => (
            <React.Fragment key={label}>
              <dt className="text-muted-foreground">{label}</dt>
              <dd className="text-right font-medium tabular-nums">{value}</dd>
            </React.Fragment>
          ))}
        </dl>
      ) : null}
      <div className="flex flex-wrap gap-2">
        <Button disabled={!q || change.isPending} onClick={() => change.mutate()}>
          {t("plan.submit")}
        </Button>
        <Button variant="outline" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
          {t("plan.cancel")}
        </Button>
      </div>
    </TitledCard>
  );
}
