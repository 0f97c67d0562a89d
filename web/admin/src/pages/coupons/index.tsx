// Coupons: the list with usage, a new coupon (percent or fixed, products or
// groups, once / N periods / forever, limits, validity window), pausing and
// resuming, and deleting one never redeemed.
import * as React from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Plus } from "lucide-react";
import type { CouponInfo } from "@/gen/rustbill/billing/coupon_pb";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { DialogActions, FormDialog } from "@/components/dialog";
import { FilterSelect } from "@/components/filters";
import { Field, Form, useApiMutation } from "@/components/form";
import { PageHeader, SinglePageArea, StatusBadge } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Input, Select, Textarea } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { useListQuery, useListState } from "@/lib/list";

const KEY = ["coupons"] as const;

export default function CouponsArea() {
  return <SinglePageArea page={<CouponsPage />} />;
}

/** A datetime-local value (the browser's zone) as RFC 3339 UTC; "" stays "". */
function toRfc3339(value: string): string {
  const date = new Date(value);
  return !value || Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function CouponsPage() {
  const { t } = useTranslation("coupons");
  const isAdmin = useIsAdmin();
  const list = useListState(["active"] as const);
  const [creating, setCreating] = React.useState(false);
  const coupons = useListQuery(KEY, list, (pagination) =>
    api.coupons.listCoupons({
      pagination,
      isActive: list.filters.active === "" ? undefined : list.filters.active === "true",
    }),
  );
  const toggle = useApiMutation((coupon: CouponInfo) => api.coupons.updateCoupon({ id: coupon.id, isActive: !coupon.isActive }), {
    invalidate: [KEY],
    successMessage: t("saved"),
  });
  const terms = (coupon: CouponInfo) => {
    const value = coupon.kind === "percent" ? `${Number(coupon.value)}%` : coupon.value;
    const duration =
      coupon.duration === "repeating" ? t("duration.repeatingN", { count: coupon.durationPeriods }) : t(`duration.${coupon.duration}`);
    return `${value} · ${duration}`;
  };
  const columns: Column<CouponInfo>[] = [
    { key: "code", header: t("field.code"), cell: (coupon) => <code className="font-semibold">{coupon.code}</code> },
    { key: "terms", header: t("field.terms"), cell: terms },
    {
      key: "scope",
      header: t("field.scope"),
      cell: (coupon) =>
        coupon.productIds.length + coupon.groupIds.length === 0
          ? t("scope.all")
          : t("scope.some", { products: coupon.productIds.length, groups: coupon.groupIds.length }),
    },
    {
      key: "used",
      header: t("field.used"),
      className: "text-right",
      cell: (coupon) => (coupon.maxRedemptions ? `${coupon.redemptions} / ${coupon.maxRedemptions}` : String(coupon.redemptions)),
    },
    timeColumn("expires", t("field.expiresAt"), (coupon) => coupon.expiresAt || undefined),
    { key: "status", header: t("field.status"), cell: (coupon) => <StatusBadge status={coupon.isActive ? "active" : "inactive"} /> },
    {
      key: "actions",
      header: "",
      className: "text-right",
      cell: (coupon) =>
        isAdmin ? (
          <div className="flex justify-end gap-2">
            <Button size="sm" variant="outline" disabled={toggle.isPending} onClick={() => toggle.mutate(coupon)}>
              {coupon.isActive ? t("pause") : t("resume")}
            </Button>
            {coupon.redemptions === 0 ? (
              <ConfirmButton
                size="sm"
                title={t("deleteTitle", { code: coupon.code })}
                confirmLabel={t("action.delete", { ns: "common" })}
                onConfirm={async () => {
                  await api.coupons.deleteCoupon({ id: coupon.id });
                  await coupons.refetch();
                }}
              >
                {t("action.delete", { ns: "common" })}
              </ConfirmButton>
            ) : null}
          </div>
        ) : null,
    },
  ];
  return (
    <div className="grid gap-4">
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          isAdmin ? (
            <Button onClick={() => setCreating(true)}>
              <Plus />
              {t("new")}
            </Button>
          ) : null
        }
      />
      <div className="w-56">
        <FilterSelect
          id="coupon-active"
          label={t("field.status")}
          value={list.filters.active}
          onChange={(value) => list.setFilter("active", value)}
          options={[
            ["true", t("active", { ns: "status" })],
            ["false", t("inactive", { ns: "status" })],
          ]}
        />
      </div>
      <DataTable
        columns={columns}
        rows={coupons.data?.coupons}
        rowKey={(coupon) => coupon.id}
        meta={coupons.data?.meta}
        loading={coupons.isPending}
        error={coupons.error}
        paging={list}
      />
      <FormDialog open={creating} onOpenChange={setCreating} title={t("new")} className="max-w-2xl">
        <NewCoupon onDone={() => setCreating(false)} />
      </FormDialog>
    </div>
  );
}

function NewCoupon({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation("coupons");
  const [form, setForm] = React.useState({
    code: "",
    description: "",
    kind: "percent",
    value: "",
    duration: "once",
    durationPeriods: "3",
    maxRedemptions: "",
    maxPerCustomer: "",
    startsAt: "",
    expiresAt: "",
  });
  const [products, setProducts] = React.useState<string[]>([]);
  const [groups, setGroups] = React.useState<string[]>([]);
  const catalog = useQuery({
    queryKey: ["coupons", "catalog"],
    queryFn: async () => ({
      products: (await api.products.listProducts({ pagination: { page: 1, pageSize: 100 } })).products,
      groups: (await api.groups.listProductGroups({ pagination: { page: 1, pageSize: 100 } })).groups,
    }),
  });
  const set = (name: keyof typeof form) => (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) =>
    setForm((current) => ({ ...current, [name]: event.target.value }));
  const whole = (text: string) => (text.trim() === "" ? 0 : Number(text));
  const create = useApiMutation(
    () =>
      api.coupons.createCoupon({
        code: form.code,
        description: form.description,
        kind: form.kind,
        value: form.value.trim(),
        duration: form.duration,
        durationPeriods: form.duration === "repeating" ? whole(form.durationPeriods) : 0,
        productIds: products,
        groupIds: groups,
        maxRedemptions: whole(form.maxRedemptions),
        maxPerCustomer: whole(form.maxPerCustomer),
        startsAt: toRfc3339(form.startsAt),
        expiresAt: toRfc3339(form.expiresAt),
      }),
    { invalidate: [KEY], successMessage: t("created"), onSuccess: onDone },
  );
  const errors = create.errors;
  const toggle = (list: string[], setList: (next: string[]) => void, id: string) =>
    setList(list.includes(id) ? list.filter((item) => item !== id) : [...list, id]);
  return (
    <Form onSubmit={() => create.mutate()}>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label={t("field.code")} htmlFor="coupon-code" error={errors.code}>
          <Input id="coupon-code" value={form.code} onChange={set("code")} placeholder="SPRING20" required />
        </Field>
        <Field label={t("field.kind")} htmlFor="coupon-kind" error={errors.kind}>
          <Select id="coupon-kind" value={form.kind} onChange={set("kind")}>
            <option value="percent">{t("kind.percent")}</option>
            <option value="fixed">{t("kind.fixed")}</option>
          </Select>
        </Field>
        <Field label={form.kind === "percent" ? t("field.percent") : t("field.amount")} htmlFor="coupon-value" error={errors.value}>
          <Input id="coupon-value" inputMode="decimal" value={form.value} onChange={set("value")} required />
        </Field>
        <Field label={t("field.duration")} htmlFor="coupon-duration" error={errors.duration}>
          <Select id="coupon-duration" value={form.duration} onChange={set("duration")}>
            <option value="once">{t("duration.once")}</option>
            <option value="repeating">{t("duration.repeating")}</option>
            <option value="forever">{t("duration.forever")}</option>
          </Select>
        </Field>
        {form.duration === "repeating" ? (
          <Field label={t("field.periods")} htmlFor="coupon-periods" error={errors.duration_periods}>
            <Input id="coupon-periods" type="number" min={1} max={120} value={form.durationPeriods} onChange={set("durationPeriods")} />
          </Field>
        ) : null}
        <Field label={t("field.maxRedemptions")} htmlFor="coupon-max" error={errors.max_redemptions}>
          <Input id="coupon-max" type="number" min={0} value={form.maxRedemptions} onChange={set("maxRedemptions")} placeholder={t("unlimited")} />
        </Field>
        <Field label={t("field.maxPerCustomer")} htmlFor="coupon-per-customer" error={errors.max_per_customer}>
          <Input id="coupon-per-customer" type="number" min={0} value={form.maxPerCustomer} onChange={set("maxPerCustomer")} placeholder={t("unlimited")} />
        </Field>
        <Field label={t("field.startsAt")} htmlFor="coupon-starts" error={errors.starts_at}>
          <Input id="coupon-starts" type="datetime-local" value={form.startsAt} onChange={set("startsAt")} />
        </Field>
        <Field label={t("field.expiresAt")} htmlFor="coupon-expires" error={errors.expires_at}>
          <Input id="coupon-expires" type="datetime-local" value={form.expiresAt} onChange={set("expiresAt")} />
        </Field>
      </div>
      <Field label={t("field.description")} htmlFor="coupon-description" error={errors.description}>
        <Textarea id="coupon-description" rows={2} value={form.description} onChange={set("description")} />
      </Field>
      <fieldset className="grid gap-2">
        <legend className="text-sm font-medium">{t("field.scope")}</legend>
        <p className="text-xs text-muted-foreground">{t("scope.hint")}</p>
        <div className="grid max-h-40 gap-1 overflow-auto rounded border p-2 text-sm sm:grid-cols-2">
          {(catalog.data?.groups ?? []).map((group) => (
            <label key={group.id} className="flex items-center gap-2">
              <input type="checkbox" checked={groups.includes(group.id)} onChange={() => toggle(groups, setGroups, group.id)} />
              {t("scope.group", { name: group.name })}
            </label>
          ))}
          {(catalog.data?.products ?? []).map((product) => (
            <label key={product.id} className="flex items-center gap-2">
              <input type="checkbox" checked={products.includes(product.id)} onChange={() => toggle(products, setProducts, product.id)} />
              {product.name}
            </label>
          ))}
        </div>
      </fieldset>
      <DialogActions submit={t("create")} onCancel={onDone} disabled={create.isPending} />
    </Form>
  );
}
