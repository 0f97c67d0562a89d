// The filter bar of list pages. Filters live in the URL (useListState): the
// selects apply at once, text filters when their form is submitted.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Input, Label, Select } from "@rustbill/ui/input";
import { cn } from "@rustbill/ui/utils";
import { Field } from "@/components/form";

/** Local text for a filter that applies on submit; follows the URL's value when that changes. */
export function useDraft(value: string): [string, (value: string) => void] {
  const [draft, setDraft] = React.useState(value);
  React.useEffect(() => setDraft(value), [value]);
  return [draft, setDraft];
}

/**
 * A labelled select of one filter; its first choice, "", is "All". The
 * choices are `options` ([value, label] pairs) followed by `children`.
 */
export function FilterSelect({
  id,
  label,
  value,
  onChange,
  options = [],
  error,
  className,
  children,
}: {
  id: string;
  label: React.ReactNode;
  value: string;
  onChange: (value: string) => void;
  options?: readonly (readonly [string, React.ReactNode])[];
  error?: string;
  className?: string;
  children?: React.ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Field label={label} htmlFor={id} error={error}>
      <Select id={id} className={className} value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{t("all")}</option>
        {options.map(([option, text]) => (
          <option key={option} value={option}>
            {text}
          </option>
        ))}
        {children}
      </Select>
    </Field>
  );
}

/** A filter of the API's status words, named as StatusBadge names them. */
export function StatusFilter({
  statuses,
  ...select
}: Omit<React.ComponentProps<typeof FilterSelect>, "options" | "children"> & { statuses: readonly string[] }) {
  const { t } = useTranslation("status");
  return <FilterSelect {...select} options={statuses.map((status) => [status, t(status, { defaultValue: status })])} />;
}

/** A row of filters, and "Reset" after them when `onReset` is given (while any filter is set). */
export function FilterBar({ className, onReset, children }: { className?: string; onReset?: () => void; children: React.ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className={cn("flex flex-wrap items-end gap-3", className)}>
      {children}
      {onReset ? (
        <Button variant="ghost" onClick={onReset}>
          {t("action.reset")}
        </Button>
      ) : null}
    </div>
  );
}

/** Filters in a form with Search (applies the text fields) and Reset (clears every filter). */
export function FilterForm({
  className,
  onSearch,
  onReset,
  children,
}: {
  className?: string;
  onSearch: () => void;
  onReset: () => void;
  children: React.ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <form
      role="search"
      className={className}
      onSubmit={(event) => {
        event.preventDefault();
        onSearch();
      }}
    >
      {children}
      <div className="flex gap-2">
        <Button type="submit">{t("action.search")}</Button>
        <Button variant="outline" onClick={onReset}>
          {t("action.reset")}
        </Button>
      </div>
    </form>
  );
}

/** A labelled search field that applies its text on Enter or the button. */
export function SearchBox({
  id,
  label,
  placeholder,
  value,
  onSearch,
}: {
  id: string;
  label: string;
  placeholder?: string;
  value: string;
  onSearch: (value: string) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useDraft(value);
  return (
    <form
      role="search"
      className="grid gap-1.5"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch(text.trim());
      }}
    >
      <Label htmlFor={id}>{label}</Label>
      <div className="flex gap-2">
        <Input id={id} className="w-64" type="search" placeholder={placeholder} value={text} onChange={(event) => setText(event.target.value)} />
        <Button type="submit" variant="outline">
          {t("action.search")}
        </Button>
      </div>
    </form>
  );
}
