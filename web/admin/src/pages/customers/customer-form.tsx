// The customer fields, shared by the create and edit dialogs.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Field } from "@/components/form";
import { Input, Textarea } from "@rustbill/ui/input";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import { CheckboxField } from "./shared";

export interface CustomerValues {
  name: string;
  contactPerson: string;
  email: string;
  phone: string;
  company: string;
  creditLimit: string;
  notes: string;
  isActive: boolean;
  canCreateApiKeys: boolean;
}

/** A new customer: active, no API keys (the server's defaults). */
export const EMPTY_CUSTOMER: CustomerValues = {
  name: "",
  contactPerson: "",
  email: "",
  phone: "",
  company: "",
  creditLimit: "0.00",
  notes: "",
  isActive: true,
  canCreateApiKeys: false,
};

export function customerValues(customer: CustomerInfo): CustomerValues {
  return {
    name: customer.name,
    contactPerson: customer.contactPerson,
    email: customer.email,
    phone: customer.phone,
    company: customer.company,
    creditLimit: customer.creditLimit,
    notes: customer.notes,
    isActive: customer.isActive,
    canCreateApiKeys: customer.canCreateApiKeys,
  };
}

/** Only the fields that differ from `before`, for UpdateCustomer. */
export function changedFields(before: CustomerValues, after: CustomerValues): Partial<CustomerValues> {
  const changed: Partial<CustomerValues> = {};
  for (const key of Object.keys(after) as (keyof CustomerValues)[]) {
    const value = after[key];
    if (value !== before[key]) (changed as Record<string, unknown>)[key] = typeof value === "string" ? value.trim() : value;
  }
  return changed;
}

/**
 * The form body; `errors` are the server's field violations (snake_case).
 * The status checkbox is for creating only: an existing customer is
 * enabled or disabled with its own confirmed action.
 */
export function CustomerFields({
  values,
  onChange,
  errors,
  withStatus = false,
}: {
  values: CustomerValues;
  onChange: (values: CustomerValues) => void;
  errors: Record<string, string>;
  withStatus?: boolean;
}) {
  const { t } = useTranslation("customers");
  const set = <K extends keyof CustomerValues>(key: K, value: CustomerValues[K]) => onChange({ ...values, [key]: value });
  const text = (key: keyof CustomerValues) => ({
    value: values[key] as string,
    onChange: (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => set(key, event.target.value),
  });
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      <div className="sm:col-span-2">
        <Field label={t("field.name")} htmlFor="customer-name" error={errors.name}>
          <Input id="customer-name" required maxLength={200} autoFocus aria-invalid={!!errors.name} {...text("name")} />
        </Field>
      </div>
      <Field label={t("field.contactPerson")} htmlFor="customer-contact" error={errors.contact_person}>
        <Input id="customer-contact" maxLength={100} aria-invalid={!!errors.contact_person} {...text("contactPerson")} />
      </Field>
      <Field label={t("field.company")} htmlFor="customer-company" error={errors.company}>
        <Input id="customer-company" maxLength={200} aria-invalid={!!errors.company} {...text("company")} />
      </Field>
      <Field label={t("field.email")} htmlFor="customer-email" error={errors.email}>
        <Input id="customer-email" type="email" aria-invalid={!!errors.email} {...text("email")} />
      </Field>
      <Field label={t("field.phone")} htmlFor="customer-phone" error={errors.phone}>
        <Input id="customer-phone" type="tel" maxLength={32} aria-invalid={!!errors.phone} {...text("phone")} />
      </Field>
      <Field label={t("field.creditLimit")} htmlFor="customer-credit-limit" error={errors.credit_limit} hint={t("field.creditLimitHint")}>
        <Input id="customer-credit-limit" inputMode="decimal" aria-invalid={!!errors.credit_limit} {...text("creditLimit")} />
      </Field>
      <div className="grid content-start gap-3 pt-6">
        {withStatus ? (
          <CheckboxField id="customer-active" label={t("field.isActive")} checked={values.isActive} onChange={(value) => set("isActive", value)} />
        ) : null}
        <CheckboxField
          id="customer-api-keys"
          label={t("field.canCreateApiKeys")}
          checked={values.canCreateApiKeys}
          onChange={(value) => set("canCreateApiKeys", value)}
        />
      </div>
      <div className="sm:col-span-2">
        <Field label={t("field.notes")} htmlFor="customer-notes" error={errors.notes}>
          <Textarea id="customer-notes" maxLength={2000} aria-invalid={!!errors.notes} {...text("notes")} />
        </Field>
      </div>
    </div>
  );
}
