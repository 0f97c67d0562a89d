// Pieces the orders and instances pages share: short ids, references to
// customers and providers, the server spec and the operation log of a record.
import type * as React from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { Details, QueryError } from "@/components/page";
import type { ServerSpec } from "@/gen/rustbill/order/order_pb";
import type { SpecField, SpecTemplate } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";

/**
 * The tail of a UUID v7 for tables: its head is a timestamp, so records
 * made close together share it, while the tail is random.
 */
export function shortId(id: string): string {
  return id.slice(-8);
}

/** A UUID in full, small and monospaced. */
export function Mono({ children }: { children: React.ReactNode }) {
  return <span className="font-mono text-xs">{children}</span>;
}

/** A link to a customer, named once the customer is loaded. */
export function CustomerLink({ id }: { id: string }) {
  const customer = useQuery({
    queryKey: ["customers", "ref", id],
    queryFn: async () => (await api.customers.getCustomer({ id })).customer ?? null,
    enabled: id !== "",
    staleTime: 5 * 60_000,
    retry: false,
  });
  if (!id) return null;
  const name = customer.data?.name || customer.data?.email;
  return (
    <Link to={`/customers/${id}`} className="text-primary hover:underline" title={customer.data?.email || id}>
      {name || <Mono>{shortId(id)}</Mono>}
    </Link>
  );
}

/** The enabled provider interfaces, for names, filters and spec labels. */
export function useProviders() {
  return useQuery({
    queryKey: ["plugins", "providers", "ref"],
    queryFn: async () => (await api.integration.listProviders({})).providers,
    staleTime: 5 * 60_000,
  });
}

/** A provider interface's name; its id while unknown (or disabled). */
export function ProviderName({ id }: { id: string }) {
  const providers = useProviders();
  const provider = providers.data?.find((item) => item.interfaceId === id);
  return provider ? <span>{provider.providerName}</span> : <Mono>{shortId(id)}</Mono>;
}

/** The provider options of a filter, keeping a selected provider that is not listed (disabled). */
export function ProviderOptions({ selected }: { selected: string }) {
  const providers = useProviders();
  const list = providers.data ?? [];
  return (
    <>
      {list.map((provider) => (
        <option key={provider.interfaceId} value={provider.interfaceId}>
          {provider.providerName}
        </option>
      ))}
      {selected && !list.some((provider) => provider.interfaceId === selected) ? (
        <option value={selected}>{selected}</option>
      ) : null}
    </>
  );
}

const BASE_SPEC_KEYS = ["cpu_cores", "memory_gb", "disk_gb", "bandwidth_mbps", "region", "os"] as const;
const BASE_SPEC_UNITS: Record<string, string> = { memory_gb: "GB", disk_gb: "GB", bandwidth_mbps: "Mbps" };

/** An order's ServerSpec flattened as instances send theirs (unset values left out). */
export function specMap(spec: ServerSpec | undefined): Record<string, string> {
  if (!spec) return {};
  const map: Record<string, string> = { ...spec.extraSpecs };
  const numbers = { cpu_cores: spec.cpuCores, memory_gb: spec.memoryGb, disk_gb: spec.diskGb, bandwidth_mbps: spec.bandwidthMbps };
  for (const [key, value] of Object.entries(numbers)) {
    if (value > 0) map[key] = String(value);
  }
  if (spec.region) map.region = spec.region;
  if (spec.os) map.os = spec.os;
  return map;
}

function templateFields(template: SpecTemplate | undefined): SpecField[] {
  if (!template) return [];
  return [...template.fields, ...template.groups.flatMap((group) => group.fields)];
}

/**
 * A server spec flattened to key → value (instances send it so; orders
 * send a ServerSpec, flatten it with specMap), labelled with the provider's
 * spec template where it names a key.
 */
export function SpecDetails({ spec, template }: { spec: Record<string, string>; template?: SpecTemplate }) {
  const { t } = useTranslation("orders");
  const fields = templateFields(template);
  const base = BASE_SPEC_KEYS.filter((key) => spec[key]);
  const extra = Object.keys(spec)
    .filter((key) => !(BASE_SPEC_KEYS as readonly string[]).includes(key))
    .sort();
  if (base.length === 0 && extra.length === 0) {
    return <p className="text-sm text-muted-foreground">{t("spec.empty")}</p>;
  }
  const items: [React.ReactNode, React.ReactNode][] = base.map((key) => {
    const value = spec[key];
    const shown =
      key === "cpu_cores" ? t("spec.cores", { value }) : BASE_SPEC_UNITS[key] ? `${value} ${BASE_SPEC_UNITS[key]}` : value;
    return [t(`spec.${key}`), shown];
  });
  for (const key of extra) {
    const field = fields.find((item) => item.key === key);
    const value = spec[key];
    const option = field?.options.find((item) => item.value === value);
    const shown = option?.label || (field?.unit ? `${value} ${field.unit}` : value);
    items.push([field?.label || key, shown]);
  }
  return <Details items={items} />;
}

function describe(value: unknown): string {
  if (value && typeof value === "object" && "from" in value && "to" in value) {
    return `${String(value.from)} → ${String(value.to)}`;
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The detail JSON of a log entry as "key: value" lines. */
function detailLines(detailJson: string): string[] {
  try {
    const detail: unknown = JSON.parse(detailJson || "{}");
    if (detail && typeof detail === "object" && !Array.isArray(detail)) {
      return Object.entries(detail).map(([key, value]) => `${key}: ${describe(value)}`);
    }
    return [detailJson];
  } catch {
    return [detailJson];
  }
}

/** The operation log of one record (who changed what, newest first). */
export function ActivityCard({ targetType, targetId }: { targetType: "order" | "instance"; targetId: string }) {
  const { t, i18n } = useTranslation("orders");
  const logs = useQuery({
    // Under the owning area's key, so that its changes refresh the log.
    queryKey: [`${targetType}s`, "activity", targetId],
    queryFn: () => api.system.listOperationLogs({ targetType, targetId, page: { page: 1, pageSize: 50 } }),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("activity.title")}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-2">
        {logs.error ? <QueryError error={logs.error} /> : null}
        {logs.data?.unavailable.length ? (
          <p className="text-xs text-muted-foreground">
            {t("activity.unavailable", { services: logs.data.unavailable.join(", ") })}
          </p>
        ) : null}
        {logs.data && logs.data.logs.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t("activity.none")}</p>
        ) : null}
        {logs.data && logs.data.logs.length > 0 ? (
          <Table>
            <THead>
              <TR>
                <TH>{t("activity.time")}</TH>
                <TH>{t("activity.actor")}</TH>
                <TH>{t("activity.action")}</TH>
                <TH>{t("activity.detail")}</TH>
              </TR>
            </THead>
            <TBody>
              {logs.data.logs.map((log) => (
                <TR key={log.id}>
                  <TD className="whitespace-nowrap">{formatDateTime(log.createdAt, i18n.language)}</TD>
                  <TD>{log.actorLabel || log.actorKind}</TD>
                  <TD>
                    <Mono>{log.action}</Mono>
                  </TD>
                  <TD className="text-xs text-muted-foreground">
                    {detailLines(log.detailJson).map((line) => (
                      <div key={line} className="break-all">
                        {line}
                      </div>
                    ))}
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        ) : null}
      </CardContent>
    </Card>
  );
}
