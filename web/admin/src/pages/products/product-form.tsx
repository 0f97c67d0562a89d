// Create and edit a product: every field of CreateProductRequest /
// UpdateProductRequest, with the provider's spec template as preset inputs.
import * as React from "react";
import { useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { Trash2, Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Checkbox, Input, Label, Select, Textarea } from "@rustbill/ui/input";
import { Field, useApiMutation } from "@/components/form";
import { TitledCard } from "@/components/page";
import type { ProductInfo, SpecField } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import {
  CATALOG_KEY, CYCLES, GroupField, markupPercent, templateFields, useProviders, type Cycle,
} from "./shared";

interface SpecRow {
  id: number;
  key: string;
  value: string;
}

/** Spec keys the order flow reads as typed ServerSpec fields. */
const COMMON_SPEC_KEYS = ["cpu_cores", "memory_gb", "disk_gb", "bandwidth_mbps", "region", "os"];

export function ProductForm({ product }: { product?: ProductInfo }) {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const navigate = useNavigate();
  const providers = useProviders();
  const editing = product !== undefined;

  const [name, setName] = React.useState(product?.name ?? "");
  const [description, setDescription] = React.useState(product?.description ?? "");
  const [interfaceId, setInterfaceId] = React.useState(product?.interfaceId ?? "");
  const [groupId, setGroupId] = React.useState(product?.groupId ?? "");
  const [isActive, setIsActive] = React.useState(product?.isActive ?? true);
  const [costPrice, setCostPrice] = React.useState(product?.costPrice ?? "");
  const [prices, setPrices] = React.useState(
    () => Object.fromEntries(CYCLES.map((cycle) => [cycle, product?.billingCycles[cycle] ?? ""])) as Record<Cycle, string>,
  );
  const nextRow = React.useRef(0);
  const [specs, setSpecs] = React.useState<SpecRow[]>(() =>
    Object.entries(product?.specs ?? {}).map(([key, value]) => ({ id: nextRow.current++, key, value })),
  );

  const provider = providers.data?.find((item) => item.interfaceId === interfaceId);
  const sections = templateFields(provider);
  const templateKeys = new Set(sections.flatMap((section) => section.fields.map((field) => field.key)));
  const specValue = (key: string) => specs.find((row) => row.key === key)?.value ?? "";
  const setSpec = (key: string, value: string) =>
    setSpecs((rows) =>
      rows.some((row) => row.key === key)
        ? rows.map((row) => (row.key === key ? { ...row, value } : row))
        : [...rows, { id: nextRow.current++, key, value }],
    );
  const customRows = specs.filter((row) => !templateKeys.has(row.key));

  const save = useApiMutation(
    async () => {
      const billingCycles = Object.fromEntries(
        CYCLES.filter((cycle) => prices[cycle].trim()).map((cycle) => [cycle, prices[cycle].trim()]),
      );
      const specMap = Object.fromEntries(
        specs.filter((row) => row.value.trim()).map((row) => [row.key.trim(), row.value.trim()]),
      );
      if (product) {
        const response = await api.products.updateProduct({
          id: product.id,
          name,
          description,
          isActive,
          groupId,
          costPrice: costPrice.trim(),
          billingCycles,
          specs: specMap,
        });
        return response.product;
      }
      const created = (
        await api.products.createProduct({
          name,
          description,
          interfaceId,
          groupId: groupId || undefined,
          pricePerMonth: prices.monthly.trim(),
          billingCycles,
          costPrice: costPrice.trim(),
          specs: specMap,
        })
      ).product;
      // CreateProductRequest has no status: a product starts on sale.
      if (created && !isActive) {
        return (await api.products.updateProduct({ id: created.id, isActive: false })).product;
      }
      return created;
    },
    { invalidate: [CATALOG_KEY], onSuccess: (saved) => saved && navigate(`/products/${saved.id}`) },
  );
  const errors = save.errors;

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!CYCLES.some((cycle) => prices[cycle].trim())) {
      save.setErrors({ billing_cycles: t("form.priceRequired") });
      return;
    }
    save.mutate();
  };

  const monthlyMarkup =
    Number(costPrice) > 0 && Number(prices.monthly) > 0 ? markupPercent(String(Number(prices.monthly) / Number(costPrice))) : "";
  const specsCleared = editing && Object.keys(product.specs).length > 0 && !specs.some((row) => row.value.trim());

  return (
    <form className="grid gap-4" onSubmit={submit} noValidate>
      <TitledCard title={t("form.basics")} contentClassName="grid gap-4 md:grid-cols-2">
        <Field label={t("field.name")} htmlFor="product-name" error={errors.name}>
          <Input id="product-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
        </Field>
        <Field
          label={t("field.provider")}
          htmlFor="product-provider"
          error={errors.interface_id}
          hint={
            providers.error
              ? t("form.providersFailed")
              : provider && !provider.isHealthy
                ? t("provider.unhealthyHint")
                : editing
                  ? t("form.providerFixed")
                  : undefined
          }
        >
          <Select
            id="product-provider"
            value={interfaceId}
            disabled={editing}
            onChange={(e) => setInterfaceId(e.target.value)}
            required
          >
            <option value="">{t("form.chooseProvider")}</option>
            {(providers.data ?? []).map((item) => (
              <option key={item.interfaceId} value={item.interfaceId}>
                {item.providerName}
              </option>
            ))}
            {interfaceId && !provider ? <option value={interfaceId}>{interfaceId}</option> : null}
          </Select>
        </Field>
        <GroupField id="product-group" value={groupId} onChange={setGroupId} error={errors.group_id} />
        <div className="flex items-center gap-2 self-end pb-2">
          <Checkbox id="product-active" checked={isActive} onChange={(e) => setIsActive(e.target.checked)} />
          <Label htmlFor="product-active">{t("field.active")}</Label>
        </div>
        <div className="md:col-span-2">
          <Field label={t("field.description")} htmlFor="product-description" error={errors.description} hint={t("form.descriptionHint")}>
            <Textarea id="product-description" rows={5} value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
        </div>
      </TitledCard>

      <TitledCard title={t("form.pricing")} description={t("form.pricingHint")} contentClassName="grid gap-4">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          {CYCLES.map((cycle) => (
            <Field
              key={cycle}
              label={t(`price.${cycle}`)}
              htmlFor={`price-${cycle}`}
              error={errors[`billing_cycles.${cycle}`] ?? (cycle === "monthly" ? errors.price_per_month : undefined)}
            >
              <Input
                id={`price-${cycle}`}
                inputMode="decimal"
                placeholder="0.00"
                value={prices[cycle]}
                onChange={(e) => setPrices((current) => ({ ...current, [cycle]: e.target.value }))}
              />
            </Field>
          ))}
        </div>
        {errors.billing_cycles ? (
          <p role="alert" className="text-xs text-destructive">
            {errors.billing_cycles}
          </p>
        ) : null}
        <div className="max-w-xs">
          <Field
            label={t("field.costPrice")}
            htmlFor="product-cost"
            error={errors.cost_price}
            hint={monthlyMarkup ? t("form.currentMarkup", { percent: monthlyMarkup }) : t("form.costHint")}
          >
            <Input id="product-cost" inputMode="decimal" placeholder="0.00" value={costPrice} onChange={(e) => setCostPrice(e.target.value)} />
          </Field>
        </div>
      </TitledCard>

      <TitledCard title={t("form.specs")} description={t("form.specsHint")} contentClassName="grid gap-4">
        {sections.map((section) => (
          <fieldset key={section.group || "fields"} className="grid gap-3">
            {section.group ? <legend className="mb-2 text-sm font-semibold">{section.group}</legend> : null}
            <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
              {section.fields.map((field) => (
                <SpecInput
                  key={field.key}
                  field={field}
                  value={specValue(field.key)}
                  onChange={(value) => setSpec(field.key, value)}
                  error={errors[`specs.${field.key}`]}
                />
              ))}
            </div>
          </fieldset>
        ))}
        {interfaceId && provider && sections.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t("form.noTemplate")}</p>
        ) : null}
        <div className="grid gap-2">
          <h4 className="text-sm font-semibold">{sections.length > 0 ? t("form.otherSpecs") : t("form.customSpecs")}</h4>
          <datalist id="spec-keys">
            {COMMON_SPEC_KEYS.map((key) => (
              <option key={key} value={key} />
            ))}
          </datalist>
          {customRows.map((row) => (
            <div key={row.id} className="grid grid-cols-[1fr_2fr_auto] items-end gap-2">
              <Field label={t("spec.key")} htmlFor={`spec-key-${row.id}`} error={errors[`specs.${row.key}`]}>
                <Input
                  id={`spec-key-${row.id}`}
                  list="spec-keys"
                  value={row.key}
                  onChange={(e) =>
                    setSpecs((rows) => rows.map((item) => (item.id === row.id ? { ...item, key: e.target.value } : item)))
                  }
                />
              </Field>
              <Field label={t("spec.value")} htmlFor={`spec-value-${row.id}`}>
                <Input
                  id={`spec-value-${row.id}`}
                  value={row.value}
                  onChange={(e) =>
                    setSpecs((rows) => rows.map((item) => (item.id === row.id ? { ...item, value: e.target.value } : item)))
                  }
                />
              </Field>
              <Button
                type="button"
                variant="ghost"
                size="icon"
                aria-label={t("spec.remove", { key: row.key })}
                onClick={() => setSpecs((rows) => rows.filter((item) => item.id !== row.id))}
              >
                <Trash2 />
              </Button>
            </div>
          ))}
          <div>
            <Button
              type="button"
              variant="outline"
              size="sm"
              onClick={() => setSpecs((rows) => [...rows, { id: nextRow.current++, key: "", value: "" }])}
            >
              <Plus />
              {t("spec.add")}
            </Button>
          </div>
          {errors.specs ? (
            <p role="alert" className="text-xs text-destructive">
              {errors.specs}
            </p>
          ) : null}
          {specsCleared ? <p className="text-xs text-muted-foreground">{t("form.specsKept")}</p> : null}
        </div>
      </TitledCard>

      <div className="flex gap-2">
        <Button type="submit" disabled={save.isPending}>
          {tc("action.save")}
        </Button>
        <Button variant="outline" onClick={() => navigate(product ? `/products/${product.id}` : "/products")}>
          {tc("action.cancel")}
        </Button>
      </div>
    </form>
  );
}

/** One preset input for a spec template field, shaped by its type. */
function SpecInput({
  field,
  value,
  onChange,
  error,
}: {
  field: SpecField;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}) {
  const { t } = useTranslation("products");
  const id = `spec-${field.key}`;
  const label = `${field.label || field.key}${field.unit ? ` (${field.unit})` : ""}`;
  const placeholder = field.defaultValue ? t("spec.defaultIs", { value: field.defaultValue }) : undefined;
  const type = field.fieldType.toLowerCase();
  let input: React.ReactNode;
  if (field.options.length > 0 || type === "boolean") {
    const options =
      field.options.length > 0
        ? field.options.map((option) => ({
            value: option.value,
            label: `${option.label || option.value}${option.disabled ? ` (${t("spec.unavailable")})` : ""}`,
          }))
        : [
            { value: "true", label: t("spec.true") },
            { value: "false", label: t("spec.false") },
          ];
    input = (
      <Select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{field.defaultValue ? t("spec.defaultIs", { value: field.defaultValue }) : t("spec.unset")}</option>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </Select>
    );
  } else if (["number", "integer", "slider"].includes(type)) {
    input = (
      <Input
        id={id}
        type="number"
        min={field.min?.toString()}
        max={field.max?.toString()}
        step={field.step?.toString()}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else {
    input = <Input id={id} placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <Field label={label} htmlFor={id} error={error} hint={field.description || undefined}>
      {input}
    </Field>
  );
}
