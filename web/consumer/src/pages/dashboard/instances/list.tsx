import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { formatDateTime } from "@rustbill/ui/utils";
import type { InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import { api } from "@/lib/api";
import { FilterSelect, Pager, QueryBody, StatusBadge, shortId, useListParams, RowList } from "@/pages/dashboard/orders/parts";

const INSTANCE_STATUSES = ["running", "provisioning", "stopped", "suspended", "terminated", "error"] as const;

export default function InstanceList() {
  const { t } = useTranslation("instances");
  const list = useListParams(["status"] as const);
  const instances = useQuery({
    queryKey: ["instances", "list", list.page, list.filters],
    queryFn: () => api.instances.listInstances({ pagination: list.pagination, status: list.filters.status }),
    placeholderData: keepPreviousData,
  });

  return (
    <div className="grid gap-4">
      <h1 className="text-2xl font-semibold">{t("title")}</h1>
      <FilterSelect
        id="instances-status"
        label={t("filter.status")}
        allLabel={t("filter.all")}
        value={list.filters.status}
        values={INSTANCE_STATUSES}
        optionLabel={(status) => t(`instanceStatus.${status}`, { ns: "orders" })}
        onChange={(status) => list.setFilter("status", status)}
      />
      <QueryBody query={instances} isEmpty={(data) => data.instances.length === 0} empty={t("empty")}>
        {(data) => (
        <>
          <InstanceRows instances={data.instances} />
          <Pager meta={data.meta} onPage={list.setPage} />
        </>
        )}
      </QueryBody>
    </div>
  );
}

/** Instances as rows on a wide screen and as stacked cards on a phone. */
export function InstanceRows({ instances }: { instances: InstanceInfo[] }) {
  const { t, i18n } = useTranslation("instances");
  const columns = "md:grid-cols-[1fr_10rem_7rem_7rem_10rem]";
  return (
    <RowList
      columns={columns}
      header={
        <>
        <span>{t("field.product")}</span>
        <span>{t("field.ip")}</span>
        <span>{t("field.status")}</span>
        <span>{t("field.id")}</span>
        <span>{t("field.createdAt")}</span>
        </>
      }
    >
      {instances.map((instance) => (
        <li key={instance.id} data-row-key={instance.id} className="rounded-lg border bg-card md:rounded-none md:border-0 md:border-t md:bg-transparent">
          <Link
            to={`/dashboard/instances/${instance.id}`}
            className={`grid grid-cols-2 gap-x-3 gap-y-1 p-3 text-sm hover:bg-muted/40 md:items-center md:py-2 ${columns}`}
          >
            <span className="font-medium text-primary">{instance.productName || t("unnamed")}</span>
            <span className="justify-self-end font-mono md:justify-self-start">{instance.ipAddress || "--"}</span>
            <span>
              <StatusBadge kind="instance" status={instance.status} />
            </span>
            <span className="justify-self-end font-mono text-muted-foreground md:justify-self-start">{shortId(instance.id)}</span>
            <span className="col-span-2 text-xs text-muted-foreground md:col-span-1 md:text-sm">
              {formatDateTime(instance.createdAt, i18n.language)}
            </span>
          </Link>
        </li>
      ))}
    </RowList>
  );
}
