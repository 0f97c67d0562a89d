// A searchable customer picker for forms and filters.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Input, Select } from "@rustbill/ui/input";
import { Field } from "@/components/form";
import { api } from "@/lib/api";
import { useCustomer } from "@/lib/customers";
import { useDebounced } from "@/lib/use-debounced";

/**
 * Picks a customer: a search box (name or e-mail) and a select of the
 * matches. `emptyLabel` is the option for "no customer" (e.g. "All").
 */
export function CustomerSelect({
  id,
  label,
  value,
  onChange,
  emptyLabel,
  error,
  required,
}: {
  id: string;
  label: React.ReactNode;
  value: string;
  onChange: (id: string) => void;
  emptyLabel: string;
  error?: string;
  required?: boolean;
}) {
  const { t } = useTranslation("payments");
  const [search, setSearch] = React.useState("");
  const term = useDebounced(search.trim());
  const matches = useQuery({
    queryKey: ["payments", "customer-search", term],
    queryFn: () => api.customers.listCustomers({ pagination: { page: 1, pageSize: 20 }, search: term || undefined }),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const selected = useCustomer(value);
  const options = matches.data?.customers ?? [];
  const selectedMissing = value !== "" && !options.some((customer) => customer.id === value);
  return (
    <Field label={label} htmlFor={id} error={error}>
      <div className="grid gap-1.5 sm:grid-cols-[minmax(8rem,12rem)_1fr]">
        <Input
          type="search"
          aria-label={t("customer.search")}
          placeholder={t("customer.searchPlaceholder")}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <Select
          id={id}
          value={value}
          required={required}
          aria-invalid={error ? true : undefined}
          onChange={(event) => onChange(event.target.value)}
        >
          <option value="">{emptyLabel}</option>
          {selectedMissing ? (
            <option value={value}>{selected.data ? customerLabel(selected.data) : value}</option>
          ) : null}
          {options.map((customer) => (
            <option key={customer.id} value={customer.id}>
              {customerLabel(customer)}
            </option>
          ))}
        </Select>
      </div>
    </Field>
  );
}

function customerLabel(customer: { name: string; email: string }): string {
  return customer.email ? `${customer.name} <${customer.email}>` : customer.name;
}
