// Small pieces shared by the customers and users pages.
import type * as React from "react";
import { useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Checkbox, Label } from "@rustbill/ui/input";
import { PAGE_SIZES } from "@/lib/list";
import { cn } from "@rustbill/ui/utils";

/** A checkbox with its label on the right and an optional hint below. */
export function CheckboxField({
  id,
  label,
  hint,
  checked,
  disabled,
  onChange,
}: {
  id: string;
  label: React.ReactNode;
  hint?: React.ReactNode;
  checked: boolean;
  disabled?: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <div className="grid gap-1">
      <div className="flex items-center gap-2">
        <Checkbox id={id} checked={checked} disabled={disabled} onChange={(event) => onChange(event.target.checked)} />
        <Label htmlFor={id} className={cn(disabled && "opacity-60")}>
          {label}
        </Label>
      </div>
      {hint ? <p className="pl-6 text-xs text-muted-foreground">{hint}</p> : null}
    </div>
  );
}

/**
 * Paging (and filters) of a secondary table on a detail page, kept in the
 * URL under its own prefix so several tables do not share one `page`.
 */
export function useSubList(prefix: string, defaultPageSize = 10) {
  const [params, setParams] = useSearchParams();
  const key = (name: string) => `${prefix}_${name}`;
  const page = Math.max(1, Number(params.get(key("page"))) || 1);
  const sizeParam = Number(params.get(key("size")));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(sizeParam) ? sizeParam : defaultPageSize;
  const update = (change: (next: URLSearchParams) => void) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        change(next);
        return next;
      },
      { replace: true },
    );
  return {
    page,
    pageSize,
    pageRequest: { page, pageSize },
    filter: (name: string) => params.get(key(name)) ?? "",
    setPage: (value: number) => update((next) => (value <= 1 ? next.delete(key("page")) : next.set(key("page"), String(value)))),
    setPageSize: (value: number) =>
      update((next) => {
        next.set(key("size"), String(value));
        next.delete(key("page"));
      }),
    setFilter: (name: string, value: string) =>
      update((next) => {
        if (value) next.set(key(name), value);
        else next.delete(key(name));
        next.delete(key("page"));
      }),
  };
}

/** One URL search parameter as state (e.g. the selected tab). */
export function useSearchParam(name: string, fallback: string): [string, (value: string) => void] {
  const [params, setParams] = useSearchParams();
  const value = params.get(name) || fallback;
  const set = (next: string) =>
    setParams(
      (current) => {
        const copy = new URLSearchParams(current);
        if (next === fallback) copy.delete(name);
        else copy.set(name, next);
        return copy;
      },
      { replace: true },
    );
  return [value, set];
}

/** A signed amount, green when positive and red when negative. */
export function SignedAmount({ amount }: { amount: string }) {
  const negative = amount.trim().startsWith("-");
  return (
    <span className={cn("font-mono tabular-nums", negative ? "text-destructive" : "text-green-700 dark:text-green-400")}>
      {negative || amount === "0.00" ? amount : `+${amount}`}
    </span>
  );
}

/** Copies text to the clipboard, falling back to a selected field outside secure contexts. */
export function useCopy() {
  const { t } = useTranslation("customers");
  return async (text: string, field?: HTMLInputElement | null) => {
    try {
      if (navigator.clipboard) {
        await navigator.clipboard.writeText(text);
      } else {
        field?.select();
        if (!field || !document.execCommand("copy")) throw new Error("clipboard unavailable");
      }
      toast.success(t("apiKeys.copied"));
    } catch {
      field?.select();
      toast.error(t("apiKeys.copyFailed"));
    }
  };
}
