import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import { cn } from "@rustbill/ui/utils";
import type { ProductGroupInfo } from "@/gen/rustbill/product/product_group_pb";
import { api } from "@/lib/api";
import { ProductCard, QueryError } from "./widgets";

/** Categories as tabs (the choice lives in the URL), then the chosen category's groups with their products. */
export function Catalog() {
  const { t } = useTranslation("catalog");
  const [params, setParams] = useSearchParams();
  const categories = useQuery({
    queryKey: ["catalog", "categories"],
    queryFn: async () => {
      const response = await api.categories.listProductCategories({ pagination: { page: 1, pageSize: 100 } });
      return [...response.categories].sort((a, b) => a.sortOrder - b.sortOrder);
    },
  });
  const selected = params.get("category") ?? categories.data?.[0]?.id ?? "";

  return (
    <div className="grid gap-6">
      <header className="grid gap-1">
        <h1 className="text-2xl font-semibold">{t("title")}</h1>
        <p className="text-sm text-muted-foreground">{t("subtitle")}</p>
      </header>
      {categories.isPending ? (
        <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
      ) : categories.isError ? (
        <QueryError error={categories.error} onRetry={() => void categories.refetch()} />
      ) : categories.data.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("empty")}</p>
      ) : (
        <>
          <nav aria-label={t("categories")} className="flex gap-2 overflow-x-auto border-b pb-2">
            {categories.data.map((category) => (
              <button
                key={category.id}
                type="button"
                aria-current={category.id === selected ? "true" : undefined}
                className={cn(
                  "shrink-0 rounded-md px-3 py-1.5 text-sm hover:bg-muted",
                  category.id === selected && "bg-muted font-medium text-primary",
                )}
                onClick={() => setParams({ category: category.id }, { replace: true })}
              >
                {category.name}
              </button>
            ))}
          </nav>
          {categories.data
            .filter((category) => category.id === selected)
            .map((category) => (
              <section key={category.id} className="grid gap-6" aria-label={category.name}>
                {category.description ? <p className="text-sm text-muted-foreground">{category.description}</p> : null}
                <CategoryGroups categoryId={category.id} />
              </section>
            ))}
        </>
      )}
    </div>
  );
}

function CategoryGroups({ categoryId }: { categoryId: string }) {
  const { t } = useTranslation("catalog");
  const groups = useQuery({
    queryKey: ["catalog", "groups", categoryId],
    queryFn: async () => {
      const response = await api.groups.listProductGroups({ categoryId, pagination: { page: 1, pageSize: 100 } });
      return [...response.groups].sort((a, b) => a.sortOrder - b.sortOrder);
    },
  });
  if (groups.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  if (groups.isError) return <QueryError error={groups.error} onRetry={() => void groups.refetch()} />;
  if (groups.data.length === 0) return <p className="text-sm text-muted-foreground">{t("empty")}</p>;
  return (
    <>
      {groups.data.map((group) => (
        <GroupProducts key={group.id} group={group} />
      ))}
    </>
  );
}

function GroupProducts({ group }: { group: ProductGroupInfo }) {
  const { t } = useTranslation("catalog");
  const products = useQuery({
    queryKey: ["catalog", "products", group.id],
    queryFn: async () =>
      (await api.products.listProducts({ groupId: group.id, isActive: true, pagination: { page: 1, pageSize: 100 } })).products,
  });
  return (
    <section className="grid gap-3" aria-labelledby={`group-${group.id}`}>
      <div>
        <h2 id={`group-${group.id}`} className="text-lg font-semibold">
          {group.name}
        </h2>
        {group.description ? <p className="text-sm text-muted-foreground">{group.description}</p> : null}
      </div>
      {products.isPending ? (
        <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>
      ) : products.isError ? (
        <QueryError error={products.error} onRetry={() => void products.refetch()} />
      ) : products.data.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("groupEmpty")}</p>
      ) : (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {products.data.map((product) => (
            <ProductCard key={product.id} product={product} />
          ))}
        </div>
      )}
    </section>
  );
}
