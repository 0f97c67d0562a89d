import * as React from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Table, TBody, TD, TH, TR } from "@rustbill/ui/table";
import { formatDateTime } from "@rustbill/ui/utils";
import type {
  GetInstanceResponse, InstanceAction, InstanceDetailField, InstanceDetailSection, InstanceInfo,
} from "@/gen/rustbill/instance/instance_pb";
import { api, errorMessage } from "@/lib/api";
import { ConfirmDialog, CopyButton, Detail, Empty, QueryError, StatusBadge, shortId } from "@/pages/dashboard/orders/parts";

/** Action ids that destroy the instance: they go through TerminateInstance. */
const TERMINATE_IDS = ["terminate", "destroy", "delete"];
/** Action ids with a translated label. */
const KNOWN_ACTIONS = ["start", "stop", "restart", "reboot", "terminate", "destroy"];
/** While the instance is in one of these states the page polls for progress. */
const IN_PROGRESS = ["provisioning"];

export default function InstanceDetail() {
  const { t } = useTranslation("instances");
  const { id = "" } = useParams();
  const client = useQueryClient();
  const key = ["instances", "detail", id];
  const detail = useQuery({
    queryKey: key,
    queryFn: () => api.instances.getInstance({ id }),
    refetchInterval: (query) => (IN_PROGRESS.includes(query.state.data?.instance?.status ?? "") ? 5000 : false),
  });
  const refresh = useMutation({
    mutationFn: () => api.instances.refreshInstanceStatus({ id }),
    onSuccess: () => {
      toast.success(t("refreshed"));
      void client.invalidateQueries({ queryKey: ["instances"] });
    },
    onError: (error) => toast.error(errorMessage(error)),
  });

  if (detail.isError) return <QueryError error={detail.error} onRetry={() => void detail.refetch()} />;
  if (detail.isPending) return <p className="text-sm text-muted-foreground">{t("loading", { ns: "common" })}</p>;
  const instance = detail.data.instance;
  if (!instance?.id) return <Empty>{t("notFound")}</Empty>;

  return (
    <div className="grid gap-4">
      <Link to="/dashboard/instances" className="text-sm text-muted-foreground hover:text-primary">
        ← {t("backToList")}
      </Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">{instance.productName || t("unnamed")}</h1>
        <StatusBadge kind="instance" status={instance.status} />
        <Button variant="outline" size="sm" className="ml-auto" disabled={refresh.isPending} onClick={() => refresh.mutate()}>
          {t("refreshStatus")}
        </Button>
      </div>
      <Actions instance={instance} actions={detail.data.actions} queryKey={key} />
      <div className="grid gap-4 lg:grid-cols-2">
        <Overview instance={instance} />
        <Card>
          <CardHeader>
            <CardTitle>{t("spec")}</CardTitle>
          </CardHeader>
          <CardContent>
            {Object.keys(instance.serverSpec).length === 0 ? (
              <p className="text-sm text-muted-foreground">--</p>
            ) : (
              <dl className="grid grid-cols-2 gap-3">
                {Object.entries(instance.serverSpec).map(([name, value]) => (
                  <Detail key={name} label={name}>
                    {value}
                  </Detail>
                ))}
              </dl>
            )}
          </CardContent>
        </Card>
      </div>
      {detail.data.sections.map((section, index) => (
        <Section key={`${index}-${section.title}`} section={section} />
      ))}
    </div>
  );
}

function Overview({ instance }: { instance: InstanceInfo }) {
  const { t, i18n } = useTranslation("instances");
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("overview")}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Detail label={t("field.ip")}>
            {instance.ipAddress ? (
              <span className="flex items-center gap-2">
                <span className="font-mono">{instance.ipAddress}</span>
                <CopyButton value={instance.ipAddress} />
              </span>
            ) : (
              ""
            )}
          </Detail>
          <Detail label={t("field.status")}>
            <StatusBadge kind="instance" status={instance.status} />
          </Detail>
          <Detail label={t("field.order")}>
            {instance.orderId ? (
              <Link className="font-mono text-primary underline" to={`/dashboard/orders/${instance.orderId}`}>
                #{shortId(instance.orderId)}
              </Link>
            ) : (
              ""
            )}
          </Detail>
          <Detail label={t("field.providerInstanceId")}>
            <span className="font-mono text-xs">{instance.providerInstanceId}</span>
          </Detail>
          <Detail label={t("field.createdAt")}>{formatDateTime(instance.createdAt, i18n.language)}</Detail>
          <Detail label={t("field.updatedAt")}>{formatDateTime(instance.updatedAt, i18n.language)}</Detail>
          <Detail label={t("field.id")}>
            <span className="font-mono text-xs">{instance.id}</span>
          </Detail>
        </dl>
      </CardContent>
    </Card>
  );
}

/** The provider's actions; each runs only after the dialog's confirm button. */
function Actions({ instance, actions, queryKey }: { instance: InstanceInfo; actions: InstanceAction[]; queryKey: string[] }) {
  const { t } = useTranslation("instances");
  const client = useQueryClient();
  const [chosen, setChosen] = React.useState<InstanceAction | null>(null);
  const label = (action: InstanceAction) =>
    KNOWN_ACTIONS.includes(action.id) ? t(`actions.${action.id}`) : action.label || action.id;
  const isDanger = (action: InstanceAction) =>
    TERMINATE_IDS.includes(action.id) || action.style === "danger" || action.style === "destructive";

  const run = useMutation({
    mutationFn: async (action: InstanceAction): Promise<{ instance?: InstanceInfo; success: boolean; message: string }> => {
      if (TERMINATE_IDS.includes(action.id)) {
        const response = await api.instances.terminateInstance({ id: instance.id, confirm: true });
        return { instance: response.instance, success: true, message: "" };
      }
      return api.instances.executeInstanceAction({ id: instance.id, action: action.id });
    },
    onSuccess: (outcome, action) => {
      setChosen(null);
      if (outcome.success) toast.success(outcome.message || t("actionDone", { action: label(action) }));
      else toast.error(outcome.message || t("actionFailed", { action: label(action) }));
      if (outcome.instance) {
        client.setQueryData<GetInstanceResponse>(queryKey, (old) => (old ? { ...old, instance: outcome.instance } : old));
      }
      void client.invalidateQueries({ queryKey: ["instances"] });
      void client.invalidateQueries({ queryKey: ["orders"] });
    },
    onError: (error) => {
      setChosen(null);
      toast.error(errorMessage(error));
    },
  });

  if (actions.length === 0) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("actionsTitle")}</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-wrap gap-2">
        {actions.map((action) => (
          <Button
            key={action.id}
            variant={isDanger(action) ? "destructive" : "secondary"}
            disabled={action.enabled === false || run.isPending}
            onClick={() => setChosen(action)}
          >
            {label(action)}
          </Button>
        ))}
      </CardContent>
      {chosen ? (
        <ConfirmDialog
          open
          onOpenChange={(open) => (open ? undefined : setChosen(null))}
          title={chosen.confirmation || t("confirmTitle", { action: label(chosen) })}
          description={TERMINATE_IDS.includes(chosen.id) ? t("terminateWarning") : t("confirmText", { action: label(chosen) })}
          confirmLabel={label(chosen)}
          destructive={isDanger(chosen)}
          pending={run.isPending}
          onConfirm={() => run.mutate(chosen)}
        />
      ) : null}
    </Card>
  );
}

function Section({ section }: { section: InstanceDetailSection }) {
  const { t } = useTranslation("instances");
  // Scripts run only when the HTML needs them (a console, an embedded page);
  // never with allow-same-origin, so the frame cannot reach the portal.
  const needsScripts = /<script|<iframe|\son[a-z]+\s*=/i.test(section.contentHtml);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{section.title || t("section")}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3">
        {section.fields.length > 0 ? (
          <Table>
            <TBody>
              {section.fields.map((field, index) => (
                <TR key={`${index}-${field.key}`}>
                  <TH scope="row" className="w-1/3 align-top">
                    {field.key}
                  </TH>
                  <TD className="break-all">
                    <FieldValue field={field} />
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        ) : null}
        {section.contentHtml ? (
          <iframe
            title={section.title || t("section")}
            srcDoc={section.contentHtml}
            sandbox={needsScripts ? "allow-scripts" : ""}
            referrerPolicy="no-referrer"
            className="h-[480px] w-full resize-y rounded-md border bg-white"
          />
        ) : null}
      </CardContent>
    </Card>
  );
}

function FieldValue({ field }: { field: InstanceDetailField }) {
  if (field.valueType === "url" && /^https?:\/\//i.test(field.value)) {
    return (
      <a href={field.value} target="_blank" rel="noopener noreferrer" className="text-primary underline">
        {field.value}
      </a>
    );
  }
  if (["code", "password", "secret", "ip"].includes(field.valueType)) {
    return (
      <span className="flex flex-wrap items-center gap-2">
        <span className="font-mono">{field.value}</span>
        {field.value ? <CopyButton value={field.value} /> : null}
      </span>
    );
  }
  return <span className="whitespace-pre-wrap">{field.value}</span>;
}
