import * as React from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams, useSearchParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Badge, Card, CardContent } from "@rustbill/ui/card";
import { Input } from "@rustbill/ui/input";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@rustbill/ui/tabs";
import { Field, useApiMutation } from "@/components/form";
import { BackLink, Details, Loading, PageHeader, QueryError, TitledCard } from "@/components/page";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { formatDateTime } from "@rustbill/ui/utils";
import { AdminPageTab } from "./admin-page";
import { ConfigFields, configErrors, useConfigForm } from "./config-form";
import { InterfaceActions } from "./interface-actions";
import { EnabledBadge, HealthBadge, keys, PluginTypeLabel } from "./shared";
import { UpstreamTab } from "./upstream";

// CodeMirror is large: loaded with the source tab only.
const SourceTab = React.lazy(() => import("./source-editor").then((module) => ({ default: module.SourceTab })));

/** /plugins/interfaces/:id — one interface; the tab is in the URL (?tab=). */
export function InterfacePage() {
  const { t } = useTranslation("plugins");
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const query = useQuery({
    queryKey: keys.interface(id),
    queryFn: async () => (await api.integration.getPluginInterface({ interfaceId: id })).interface ?? null,
  });
  const iface = query.data;
  const back = (
    <BackLink to="/plugins" variant="ghost">
      {t("backToList")}
    </BackLink>
  );
  if (query.error) {
    return (
      <div className="grid justify-items-start gap-3">
        {back}
        <QueryError error={query.error} />
      </div>
    );
  }
  if (!iface) return <Loading />;
  const tabs = ["overview", "config", "source"];
  if (iface.hasAdminPage) tabs.push("admin");
  if (iface.pluginType === "upstream_provider") tabs.push("upstream");
  const requested = params.get("tab") ?? "";
  const tab = tabs.includes(requested) ? requested : "overview";
  return (
    <div className="grid gap-2">
      <div>{back}</div>
      <PageHeader
        title={iface.displayName}
        description={
          <>
            <PluginTypeLabel type={iface.pluginType} /> · <span className="font-mono">{iface.pluginId}</span> · v
            {iface.pluginVersion}
          </>
        }
        actions={<InterfaceActions iface={iface} size="default" onDeleted={() => navigate("/plugins")} />}
      />
      <div className="-mt-2 mb-2 flex flex-wrap gap-2">
        <EnabledBadge enabled={iface.enabled} />
        <HealthBadge iface={iface} />
        {iface.scriptOverridden ? <Badge tone="yellow">{t("script.overridden")}</Badge> : null}
        {iface.scriptError ? <Badge tone="red">{t("script.broken")}</Badge> : null}
      </div>
      <Tabs
        value={tab}
        onValueChange={(value) =>
          setParams(
            (current) => {
              const next = new URLSearchParams(current);
              if (value === "overview") next.delete("tab");
              else next.set("tab", value);
              return next;
            },
            { replace: true },
          )
        }
      >
        <TabsList>
          {tabs.map((value) => (
            <TabsTrigger key={value} value={value}>
              {t(`detailTabs.${value}`)}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="overview">
          <Overview iface={iface} />
        </TabsContent>
        <TabsContent value="config">
          <ConfigTab key={iface.updatedAt} iface={iface} />
        </TabsContent>
        <TabsContent value="source">
          <React.Suspense fallback={<Loading />}>
            <SourceTab iface={iface} />
          </React.Suspense>
        </TabsContent>
        {iface.hasAdminPage ? (
          <TabsContent value="admin">
            <AdminPageTab iface={iface} />
          </TabsContent>
        ) : null}
        {iface.pluginType === "upstream_provider" ? (
          <TabsContent value="upstream">
            <UpstreamTab iface={iface} />
          </TabsContent>
        ) : null}
      </Tabs>
    </div>
  );
}

function Overview({ iface }: { iface: PluginInterfaceInfo }) {
  const { t, i18n } = useTranslation("plugins");
  const yesNo = (value: boolean) => t(value ? "yes" : "no", { ns: "common" });
  const definition = useQuery({
    queryKey: keys.definition(iface.pluginDefId),
    queryFn: async () => (await api.integration.getPlugin({ id: iface.pluginDefId })).plugin ?? null,
  });
  const definitionVersion = definition.data?.version;
  const loadError = definition.data?.loadError;
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <TitledCard title={t("overview.interface")}>
        <Details
          items={[
            [t("field.id"), <span className="font-mono text-xs">{iface.id}</span>],
            [t("field.displayName"), iface.displayName],
            [t("field.type"), <PluginTypeLabel type={iface.pluginType} />],
            [t("field.status"), <EnabledBadge enabled={iface.enabled} />],
            [t("field.createdAt"), formatDateTime(iface.createdAt, i18n.language)],
            [t("field.updatedAt"), formatDateTime(iface.updatedAt, i18n.language)],
            [t("field.adminPage"), yesNo(iface.hasAdminPage)],
          ]}
        />
      </TitledCard>
      <TitledCard title={t("overview.health")}>
        <Details
          items={[
            [t("field.health"), <HealthBadge iface={iface} />],
            [t("health.lastCheck"), formatDateTime(iface.lastCheckAt, i18n.language)],
            [
              t("health.error"),
              iface.healthError ? <span className="text-destructive">{iface.healthError}</span> : "",
            ],
          ]}
        />
      </TitledCard>
      <TitledCard title={t("overview.script")} className="lg:col-span-2" contentClassName="grid gap-3">
        {definition.error ? <QueryError error={definition.error} /> : null}
        <Details
          items={[
            [t("field.plugin"), <span className="font-mono">{iface.pluginId}</span>],
            [t("field.version"), iface.pluginVersion],
            [
              t("overview.definitionVersion"),
              definitionVersion ? (
                <span>
                  {definitionVersion}
                  {definitionVersion !== iface.pluginVersion ? (
                    <span className="ml-2 text-xs text-muted-foreground">{t("overview.versionDiffers")}</span>
                  ) : null}
                </span>
              ) : (
                ""
              ),
            ],
            [t("overview.definitionFile"), <span className="font-mono text-xs">{definition.data?.fileName ?? ""}</span>],
            [
              t("overview.definitionLoad"),
              loadError ? (
                <div className="grid justify-items-start gap-1">
                  <Badge tone="red">{t("definitions.loadError")}</Badge>
                  <pre className="whitespace-pre-wrap font-mono text-xs text-destructive">{loadError}</pre>
                </div>
              ) : definition.data ? (
                <Badge tone="green">{t("definitions.loaded")}</Badge>
              ) : (
                ""
              ),
            ],
            [t("script.overriddenLabel"), yesNo(iface.scriptOverridden)],
            [
              t("script.error"),
              iface.scriptError ? (
                <pre className="whitespace-pre-wrap font-mono text-xs text-destructive">{iface.scriptError}</pre>
              ) : (
                ""
              ),
            ],
          ]}
        />
      </TitledCard>
    </div>
  );
}

/**
 * Display name and configuration (UpdatePluginInterface). Remounted when the
 * interface changes (key = updated_at), so it always starts from what is
 * stored. Secrets arrive masked and go back masked unless retyped.
 */
function ConfigTab({ iface }: { iface: PluginInterfaceInfo }) {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const form = useConfigForm(iface.configSchema, iface.configJson);
  const [displayName, setDisplayName] = React.useState(iface.displayName);
  const save = useApiMutation(
    (configJson: string) =>
      api.integration.updatePluginInterface({
        interfaceId: iface.id,
        configJson,
        displayName: displayName === iface.displayName ? undefined : displayName,
      }),
    { invalidate: [keys.interfaces, keys.interface(iface.id), keys.adminPage(iface.id)] },
  );
  const errors = { ...save.errors, ...configErrors(save.error) };
  return (
    <Card>
      <CardContent className="pt-4">
        <form
          className="grid max-w-2xl gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            const configJson = form.build();
            if (configJson !== null) save.mutate(configJson);
          }}
        >
          {!iface.enabled ? <p className="text-sm text-muted-foreground">{t("config.disabledNote")}</p> : null}
          <Field label={t("field.displayName")} htmlFor="interface-display-name" error={errors.display_name}>
            <Input
              id="interface-display-name"
              value={displayName}
              required
              maxLength={100}
              disabled={!isAdmin}
              onChange={(event) => setDisplayName(event.target.value)}
            />
          </Field>
          <ConfigFields form={form} errors={errors} disabled={!isAdmin} />
          {isAdmin ? (
            <div>
              <Button type="submit" disabled={save.isPending}>
                {t("config.save")}
              </Button>
            </div>
          ) : (
            <p className="text-sm text-muted-foreground">{t("adminOnly")}</p>
          )}
        </form>
      </CardContent>
    </Card>
  );
}
