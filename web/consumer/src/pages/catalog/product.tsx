import * as React from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { ArrowLeft } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import type { ProductInfo } from "@/gen/rustbill/product/product_pb";
import { api, Code, ConnectError, errorMessage, fieldErrors } from "@/lib/api";
import { useCurrentUser } from "@/lib/auth";
import { SpecFieldInput, initialValue, templateSections } from "./spec-field";
import { cyclePrices, Field, QueryError } from "./widgets";

/** The pseudo gateway that pays from the customer's account balance. */
const BALANCE = "balance";

/** A product id that names no product on sale (malformed ids included). */
function isMissing(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.NotFound || code === Code.InvalidArgument;
}

export function ProductDetail() {
  const { t } = useTranslation("catalog");
  const { productId = "" } = useParams();
  const product = useQuery({
    queryKey: ["catalog", "product", productId],
    queryFn: async () => (await api.products.getProduct({ id: productId })).product ?? null,
    retry: (count, error) => !isMissing(error) && count < 2,
  });

  const back = (
    <Link to="/catalog" className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-primary">
      <ArrowLeft className="size-4" />
      {t("backToCatalog")}
    </Link>
  );
  if (product.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  const notFound = product.isError ? isMissing(product.error) : !product.data?.isActive;
  if (notFound) {
    return (
      <div className="grid gap-3">
        {back}
        <h1 className="text-xl font-semibold">{t("notFound")}</h1>
      </div>
    );
  }
  if (product.isError) {
    return (
      <div className="grid gap-3">
        {back}
        <QueryError error={product.error} onRetry={() => void product.refetch()} />
      </div>
    );
  }
  return (
    <div className="grid gap-4">
      {back}
      <OrderForm product={product.data!} />
    </div>
  );
}

function OrderForm({ product }: { product: ProductInfo }) {
  const { t } = useTranslation("catalog");
  const me = useCurrentUser();
  const loggedIn = !!me.data;
  const navigate = useNavigate();
  const location = useLocation();

  const providers = useQuery({
    queryKey: ["catalog", "providers"],
    queryFn: async () => (await api.integration.listProviders({})).providers,
    enabled: loggedIn,
  });
  const gateways = useQuery({
    queryKey: ["catalog", "gateways"],
    queryFn: async () => (await api.integration.listGateways({})).gateways,
    enabled: loggedIn,
  });

  const template = providers.data?.find((provider) => provider.interfaceId === product.interfaceId)?.specTemplate;
  const sections = React.useMemo(() => (template ? templateSections(template) : []), [template]);

  const [specs, setSpecs] = React.useState<Record<string, string>>({});
  const specValue = (key: string, fallback: string) => specs[key] ?? fallback;

  const cycles = cyclePrices(product);
  const [cycle, setCycle] = React.useState(() => cycles.find(([key]) => key === "monthly")?.[0] ?? cycles[0]?.[0] ?? "");
  const [gateway, setGateway] = React.useState("");
  const chosenGateway = gateway || gateways.data?.[0]?.gatewayId || BALANCE;
  const [notes, setNotes] = React.useState("");
  const [couponDraft, setCouponDraft] = React.useState("");
  // The coupon applied (previewed) for this product and cycle, with its effect.
  const [coupon, setCoupon] = React.useState<{ code: string; cycle: string; discount: string; amount: string } | null>(null);

  const chosenSpecs = () => {
    const extraSpecs: Record<string, string> = {};
    for (const section of sections) {
      for (const field of section.fields) {
        const value = specValue(field.key, initialValue(field, product.specs));
        if (value !== "") extraSpecs[field.key] = value;
      }
    }
    return extraSpecs;
  };
  const applyCoupon = useMutation({
    mutationFn: () =>
      api.coupons.previewCoupon({
        code: couponDraft.trim(),
        productId: product.id,
        billingCycle: cycle,
        serverSpec: { extraSpecs: chosenSpecs() },
      }),
    onSuccess: (response) =>
      setCoupon({ code: response.coupon?.code ?? couponDraft.trim(), cycle, discount: response.discountAmount, amount: response.amount }),
    onError: () => setCoupon(null),
  });
  const appliedCoupon = coupon && coupon.cycle === cycle ? coupon : null;

  const order = useMutation({
    mutationFn: () => {
      const extraSpecs = chosenSpecs();
      return api.orders.createOrder({
        productId: product.id,
        billingCycle: cycle,
        currency: "CNY",
        gatewayInterfaceId: chosenGateway,
        notes: notes.trim(),
        serverSpec: { extraSpecs },
        couponCode: appliedCoupon?.code ?? "",
      });
    },
    onSuccess: (response) => {
      toast.success(t("order.created"));
      navigate(`/dashboard/orders/${response.order?.id ?? ""}`, { state: { payment: response.payment } });
    },
    onError: (error) => toast.error(errorMessage(error)),
  });
  const errors = order.error ? fieldErrors(order.error) : {};

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!loggedIn) {
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    order.mutate();
  };

  const price = cycles.find(([key]) => key === cycle)?.[1];
  const specEntries = Object.entries(product.specs);

  return (
    <form onSubmit={submit} className="grid gap-6 lg:grid-cols-[1fr_22rem] lg:items-start">
      <div className="grid min-w-0 gap-6">
        <header className="grid gap-2">
          <h1 className="text-2xl font-semibold">{product.name}</h1>
          {product.description ? <p className="whitespace-pre-line text-sm text-muted-foreground">{product.description}</p> : null}
        </header>

        {specEntries.length > 0 ? (
          <Card>
            <CardHeader>
              <CardTitle>{t("specs")}</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
                {specEntries.map(([key, value]) => (
                  <div key={key} className="flex justify-between gap-3 border-b pb-1">
                    <dt className="text-muted-foreground">{key}</dt>
                    <dd className="text-right font-medium">{value}</dd>
                  </div>
                ))}
              </dl>
            </CardContent>
          </Card>
        ) : null}

        {loggedIn ? (
          providers.isError ? (
            <QueryError error={providers.error} onRetry={() => void providers.refetch()} />
          ) : (
            sections.map((section, index) => (
              <Card key={section.group?.key ?? `fields-${index}`}>
                <CardHeader>
                  <CardTitle>{section.group?.label || t("configure")}</CardTitle>
                </CardHeader>
                <CardContent className="grid gap-4 sm:grid-cols-2">
                  {section.fields.map((field) => (
                    <SpecFieldInput
                      key={field.key}
                      field={field}
                      value={specValue(field.key, initialValue(field, product.specs))}
                      onChange={(value) => setSpecs((current) => ({ ...current, [field.key]: value }))}
                    />
                  ))}
                </CardContent>
              </Card>
            ))
          )
        ) : (
          <p className="rounded-md border bg-muted/40 p-3 text-sm text-muted-foreground">{t("order.signInToConfigure")}</p>
        )}
      </div>

      <Card className="lg:sticky lg:top-20">
        <CardHeader>
          <CardTitle>{t("order.title")}</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4">
          {cycles.length > 0 ? (
            <Field id="order-cycle" label={t("order.cycle")} error={errors.billing_cycle}>
              <Select id="order-cycle" value={cycle} onChange={(event) => setCycle(event.target.value)}>
                {cycles.map(([key, amount]) => (
                  <option key={key} value={key}>
                    {t(`cycle.${key}`, { defaultValue: key })} — ¥{amount}
                  </option>
                ))}
              </Select>
            </Field>
          ) : (
            <p className="text-sm text-muted-foreground">{t("noPrice")}</p>
          )}

          {loggedIn ? (
            <>
              <Field id="order-gateway" label={t("order.gateway")} error={errors.gateway_interface_id}>
                <Select id="order-gateway" value={chosenGateway} onChange={(event) => setGateway(event.target.value)}>
                  {(gateways.data ?? []).map((item) => (
                    <option key={item.gatewayId} value={item.gatewayId}>
                      {item.gatewayName || item.gatewayId}
                    </option>
                  ))}
                  <option value={BALANCE}>{t("order.balance")}</option>
                </Select>
              </Field>
              {gateways.isError ? <QueryError error={gateways.error} onRetry={() => void gateways.refetch()} /> : null}
              <Field id="order-coupon" label={t("order.coupon")} error={applyCoupon.error ? errorMessage(applyCoupon.error) : errors.coupon_code}>
                <div className="flex gap-2">
                  <Input
                    id="order-coupon"
                    value={couponDraft}
                    onChange={(event) => {
                      setCouponDraft(event.target.value);
                      setCoupon(null);
                    }}
                    placeholder={t("order.couponPlaceholder")}
                  />
                  <Button
                    type="button"
                    variant="outline"
                    disabled={couponDraft.trim() === "" || applyCoupon.isPending}
                    onClick={() => applyCoupon.mutate()}
                  >
                    {t("order.applyCoupon")}
                  </Button>
                </div>
              </Field>
              {appliedCoupon ? (
                <p className="text-sm text-green-700 dark:text-green-400" data-testid="coupon-applied">
                  {t("order.couponApplied", { code: appliedCoupon.code, discount: appliedCoupon.discount })}
                </p>
              ) : null}
              <Field id="order-notes" label={t("order.notes")} error={errors.notes}>
                <Textarea id="order-notes" rows={2} value={notes} onChange={(event) => setNotes(event.target.value)} />
              </Field>
            </>
          ) : null}

          {price !== undefined ? (
            <div className="flex items-baseline justify-between border-t pt-3">
              <span className="text-sm text-muted-foreground">{t("order.total")}</span>
              <span className="text-xl font-semibold text-primary" data-testid="order-total">
                ¥{appliedCoupon ? appliedCoupon.amount : price}
              </span>
            </div>
          ) : null}
          {Object.entries(errors)
            .filter(([field]) => !["billing_cycle", "gateway_interface_id", "notes", "coupon_code"].includes(field))
            .map(([field, message]) => (
              <p key={field} role="alert" className="text-sm text-destructive">
                {field}: {message}
              </p>
            ))}
          <Button type="submit" size="lg" disabled={order.isPending || cycles.length === 0}>
            {order.isPending ? t("order.submitting") : t("order.submit")}
          </Button>
        </CardContent>
      </Card>
    </form>
  );
}
