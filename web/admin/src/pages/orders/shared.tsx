// Pieces the orders and instances pages share: providers (names, filter)
// and the server spec.
import type * as React from "react";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { FilterSelect } from "@/components/filters";
import { Details, TitledCard } from "@/components/page";
import { ShortId } from "@/components/refs";
import type { ServerSpec } from "@/gen/rustbill/order/order_pb";
import type { SpecField, SpecTemplate } from "@/gen/rustbill/product/product_pb";
import { api } from "@/lib/api";

/** The enabled provider interfaces, for names, filters and spec labels. */
function useProviders() {
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
  return provider ? <span>{provider.providerName}</span> : <ShortId id={id} />;
}

/** The provider filter of a list, keeping a selected provider that is not listed (disabled). */
export function ProviderFilter({
  id,
  label,
  value,
  onChange,
  error,
}: {
  id: string;
  label: React.ReactNode;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}) {
  const providers = useProviders();
  const list = providers.data ?? [];
  return (
    <FilterSelect
      id={id}
      label={label}
      value={value}
      onChange={onChange}
      error={error}
      options={list.map((provider) => [provider.interfaceId, provider.providerName])}
    >
      {value && !list.some((provider) => provider.interfaceId === value) ? <option value={value}>{value}</option> : null}
    </FilterSelect>
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
 * The server spec card: a spec flattened to key → value (instances send it
 * so; orders send a ServerSpec, flatten it with specMap), labelled with the
 * spec template of provider `providerId` where it names a key.
 */
export function SpecCard({ title, spec, providerId }: { title: React.ReactNode; spec: Record<string, string>; providerId: string }) {
  const providers = useProviders();
  const template = providers.data?.find((provider) => provider.interfaceId === providerId)?.specTemplate;
  return (
    <TitledCard title={title}>
      <SpecDetails spec={spec} template={template} />
    </TitledCard>
  );
}

function SpecDetails({ spec, template }: { spec: Record<string, string>; template?: SpecTemplate }) {
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
