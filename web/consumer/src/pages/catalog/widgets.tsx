// Small building blocks shared by the public pages (catalog, product
// detail, login, register): a labelled form field with the server's field
// error, an error notice for failed queries, the catalog price rule and
// the product card.
import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { buttonVariants } from "@rustbill/ui/button";
import { Label } from "@rustbill/ui/input";
import { cn } from "@rustbill/ui/utils";
import type { ProductInfo } from "@/gen/rustbill/product/product_pb";
import { errorMessage } from "@/lib/api";

/** A label bound to its control (`id`), a hint and the server's error for the field. */
export function Field({
  id,
  label,
  error,
  hint,
  className,
  children,
}: {
  id: string;
  label: React.ReactNode;
  error?: string;
  hint?: React.ReactNode;
  className?: string;
  children: React.ReactNode;
}) {
  return (
    <div className={cn("grid gap-1.5", className)}>
      <Label htmlFor={id}>{label}</Label>
      {children}
      {hint ? <p className="text-xs text-muted-foreground">{hint}</p> : null}
      {error ? (
        <p className="text-sm text-destructive" role="alert" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A failed query: what went wrong, with a retry button. */
export function QueryError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="rounded-md border border-destructive/40 bg-destructive/5 p-3 text-sm">
      <span className="font-medium text-destructive">{t("loadFailed")}: </span>
      <span>{errorMessage(error)}</span>
      {onRetry ? (
        <button type="button" className="ml-2 text-primary underline" onClick={onRetry}>
          {t("action.refresh")}
        </button>
      ) : null}
    </div>
  );
}

/** Billing cycles in their natural order; unknown ones follow in map order. */
const CYCLE_ORDER = ["monthly", "quarterly", "semi_annually", "yearly", "biennially", "triennially", "one_time"];

/** A money amount is "set" when it is non-empty and not zero. */
function isSet(amount: string | undefined): amount is string {
  return !!amount && amount.trim() !== "" && Number(amount) !== 0;
}

/** The product's billing cycles, cycle → price, with the monthly base price when no cycle is listed. */
export function cyclePrices(product: ProductInfo): [string, string][] {
  const entries = Object.entries(product.billingCycles).filter(([, price]) => price.trim() !== "");
  if (entries.length === 0 && isSet(product.pricePerMonth)) return [["monthly", product.pricePerMonth]];
  const rank = (cycle: string) => {
    const index = CYCLE_ORDER.indexOf(cycle);
    return index === -1 ? CYCLE_ORDER.length : index;
  };
  return entries.sort(([a], [b]) => rank(a) - rank(b));
}

/**
 * The catalog price: the base (monthly) price when set, otherwise the
 * monthly cycle, otherwise the first cycle listed.
 */
export function displayPrice(product: ProductInfo): { amount: string; cycle: string } | null {
  if (isSet(product.pricePerMonth)) return { amount: product.pricePerMonth, cycle: "monthly" };
  const cycles = Object.entries(product.billingCycles);
  if (product.billingCycles.monthly) return { amount: product.billingCycles.monthly, cycle: "monthly" };
  if (cycles.length > 0) return { amount: cycles[0][1], cycle: cycles[0][0] };
  return null;
}

/** "¥12.50 / month" in the current language. */
export function Price({ amount, cycle, className }: { amount: string; cycle: string; className?: string }) {
  const { t } = useTranslation("catalog");
  return (
    <span className={className}>
      <span className="text-lg font-semibold text-primary">¥{amount}</span>
      <span className="text-sm text-muted-foreground"> / {t(`cyclePer.${cycle}`, { defaultValue: cycle })}</span>
    </span>
  );
}

/** A product in a grid: name, a few specs, the catalog price and a link to its page. */
export function ProductCard({ product }: { product: ProductInfo }) {
  const { t } = useTranslation("catalog");
  const price = displayPrice(product);
  const specs = Object.entries(product.specs).slice(0, 4);
  return (
    <article
      className="flex flex-col gap-3 rounded-lg border bg-card p-4 text-card-foreground shadow-sm"
      data-row-key={product.id}
      aria-labelledby={`product-${product.id}`}
    >
      <h3 id={`product-${product.id}`} className="font-semibold">
        {product.name}
      </h3>
      {product.description ? <p className="line-clamp-2 text-sm text-muted-foreground">{product.description}</p> : null}
      {specs.length > 0 ? (
        <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-xs">
          {specs.map(([key, value]) => (
            <div key={key} className="min-w-0">
              <dt className="truncate text-muted-foreground">{key}</dt>
              <dd className="truncate">{value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      <div className="mt-auto flex flex-wrap items-center justify-between gap-2 pt-1">
        {price ? <Price amount={price.amount} cycle={price.cycle} /> : <span className="text-sm text-muted-foreground">{t("noPrice")}</span>}
        <Link className={buttonVariants({ size: "sm" })} to={`/catalog/${product.id}`} aria-label={t("viewProduct", { name: product.name })}>
          {t("details")}
        </Link>
      </div>
    </article>
  );
}
