import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { CreditCard, LifeBuoy, Zap } from "lucide-react";
import { buttonVariants } from "@rustbill/ui/button";
import { api } from "@/lib/api";
import { useCurrentUser } from "@/lib/auth";
import { brand, portalConfig } from "@/lib/config";
import { ProductCard, QueryError } from "@/pages/catalog/widgets";

const FEATURES = [
  { key: "instant", icon: Zap },
  { key: "flexible", icon: CreditCard },
  { key: "support", icon: LifeBuoy },
] as const;

export default function HomePage() {
  const { t } = useTranslation("home");
  const me = useCurrentUser();
  const products = useQuery({
    queryKey: ["catalog", "featured"],
    queryFn: async () => (await api.products.listProducts({ isActive: true, pagination: { page: 1, pageSize: 6 } })).products,
  });

  return (
    <div className="grid gap-12">
      <section className="grid gap-5 rounded-xl border bg-card px-6 py-12 text-center sm:py-16">
        <h1 className="text-3xl font-bold tracking-tight sm:text-4xl">{portalConfig().appTitle || brand.name}</h1>
        <p className="mx-auto max-w-xl text-muted-foreground">{t("tagline")}</p>
        <div className="flex flex-col justify-center gap-3 sm:flex-row">
          <Link to="/catalog" className={buttonVariants({ size: "lg" })}>
            {t("browse")}
          </Link>
          {me.data ? (
            <Link to="/dashboard" className={buttonVariants({ size: "lg", variant: "outline" })}>
              {t("toDashboard")}
            </Link>
          ) : (
            <Link to="/register" className={buttonVariants({ size: "lg", variant: "outline" })}>
              {t("getStarted")}
            </Link>
          )}
        </div>
      </section>

      <section className="grid gap-4 sm:grid-cols-3">
        {FEATURES.map(({ key, icon: Icon }) => (
          <div key={key} className="grid gap-2 rounded-lg border p-4">
            <Icon className="size-5 text-primary" />
            <h2 className="font-semibold">{t(`features.${key}.title`)}</h2>
            <p className="text-sm text-muted-foreground">{t(`features.${key}.text`)}</p>
          </div>
        ))}
      </section>

      <section className="grid gap-4" aria-labelledby="featured-title">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id="featured-title" className="text-xl font-semibold">
            {t("featured")}
          </h2>
          <Link to="/catalog" className="text-sm text-primary hover:underline">
            {t("allProducts")}
          </Link>
        </div>
        {products.isPending ? (
          <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
        ) : products.isError ? (
          <QueryError error={products.error} onRetry={() => void products.refetch()} />
        ) : products.data.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t("empty")}</p>
        ) : (
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {products.data.map((product) => (
              <ProductCard key={product.id} product={product} />
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
