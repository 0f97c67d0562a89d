import * as React from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { toast } from "sonner";
import { RefreshCw, X } from "lucide-react";
import { ActivityCard } from "@/components/activity";
import { ConfirmButton } from "@/components/confirm";
import { useApiMutation } from "@/components/form";
import { BackLink, Details, LoadedRecord, PageHeader, StatusBadge, TitledCard } from "@/components/page";
import { CustomerLink, Mono, shortId } from "@/components/refs";
import { Button } from "@rustbill/ui/button";
import type { GetInstanceResponse, InstanceAction, InstanceInfo } from "@/gen/rustbill/instance/instance_pb";
import { api, errorMessage } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { cn, formatDateTime } from "@rustbill/ui/utils";
import { ProviderName, SpecCard } from "@/pages/orders/shared";
import { SectionCard } from "./sections";

/** What an instance change may alter elsewhere: its order and the customer's lists. */
const AFTER_INSTANCE_CHANGE = [["instances"], ["orders"], ["customers"]];

export function InstanceDetail() {
  const { id = "" } = useParams();
  const instance = useQuery({
    queryKey: ["instances", "get", id],
    queryFn: () => api.instances.getInstance({ id }),
    select: (response) => (response.instance ? { instance: response.instance, response } : null),
    // A new server comes up in the background: follow it.
    refetchInterval: (query) => (query.state.data?.instance?.status === "provisioning" ? 10_000 : false),
  });
  return (
    <LoadedRecord query={instance}>
      {(record) => <InstanceView instance={record.instance} response={record.response} />}
    </LoadedRecord>
  );
}

interface ActionResult {
  label: string;
  success: boolean;
  message: string;
}

function InstanceView({ instance, response }: { instance: InstanceInfo; response: GetInstanceResponse }) {
  const { t, i18n } = useTranslation("instances");
  const [result, setResult] = React.useState<ActionResult | null>(null);
  const terminated = instance.status === "terminated";

  return (
    <div className="grid gap-4">
      <PageHeader
        title={t("detail.title", { name: instance.productName || shortId(instance.id) })}
        badge={<StatusBadge status={instance.status} />}
        description={<Mono>{instance.id}</Mono>}
        actions={
          <>
            <BackLink to="/instances" variant="outline">
              {t("detail.backToList")}
            </BackLink>
            <RefreshStatus instance={instance} />
            {terminated ? null : <Terminate instance={instance} />}
          </>
        }
      />
      {result ? <ResultBanner result={result} onDismiss={() => setResult(null)} /> : null}
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="grid content-start gap-4 lg:col-span-2">
          <TitledCard title={t("detail.summary")}>
            <Details
              items={[
                [t("detail.id"), <Mono>{instance.id}</Mono>],
                [t("detail.status"), <StatusBadge status={instance.status} />],
                [t("detail.ip"), instance.ipAddress ? <Mono>{instance.ipAddress}</Mono> : ""],
                [t("detail.product"), instance.productName],
                [t("detail.customer"), <CustomerLink id={instance.customerId} />],
                [
                  t("detail.order"),
                  <Link to={`/orders/${instance.orderId}`} className="text-primary hover:underline">
                    <Mono>{instance.orderId}</Mono>
                  </Link>,
                ],
                [t("detail.provider"), <ProviderName id={instance.providerId} />],
                [t("detail.providerInstanceId"), instance.providerInstanceId ? <Mono>{instance.providerInstanceId}</Mono> : ""],
                [t("detail.created"), formatDateTime(instance.createdAt, i18n.language)],
                [t("detail.updated"), formatDateTime(instance.updatedAt, i18n.language)],
              ]}
            />
          </TitledCard>
          <SpecCard title={t("detail.spec")} spec={instance.serverSpec} providerId={instance.providerId} />
          {response.sections.length > 0 ? (
            response.sections.map((section, index) => <SectionCard key={`${section.title}-${index}`} section={section} />)
          ) : (
            <p className="text-sm text-muted-foreground">{t(terminated ? "sections.terminated" : "sections.none")}</p>
          )}
          <ActivityCard area="instances" targetType="instance" targetId={instance.id} />
        </div>
        <div className="grid content-start gap-4">
          <Actions instance={instance} actions={response.actions} onResult={setResult} />
        </div>
      </div>
    </div>
  );
}

function ResultBanner({ result, onDismiss }: { result: ActionResult; onDismiss: () => void }) {
  const { t } = useTranslation("instances");
  return (
    <div
      role="status"
      data-testid="action-result"
      data-success={result.success}
      className={cn(
        "flex items-start justify-between gap-3 rounded-md border p-3 text-sm",
        result.success
          ? "border-green-500/40 bg-green-500/10 text-green-700 dark:text-green-400"
          : "border-destructive/40 bg-destructive/10 text-destructive",
      )}
    >
      <div className="grid gap-1">
        <p className="font-medium">{t(result.success ? "actions.succeeded" : "actions.failed", { label: result.label })}</p>
        {result.message ? <p className="whitespace-pre-wrap">{result.message}</p> : null}
      </div>
      <Button variant="ghost" size="sm" onClick={onDismiss} aria-label={t("actions.dismiss")}>
        <X />
      </Button>
    </div>
  );
}

const BUTTON_VARIANTS: Record<string, "default" | "destructive" | "outline"> = {
  primary: "default",
  danger: "destructive",
  destructive: "destructive",
};

/** The provider plugin's actions, each confirmed before it runs. */
function Actions({
  instance,
  actions,
  onResult,
}: {
  instance: InstanceInfo;
  actions: InstanceAction[];
  onResult: (result: ActionResult) => void;
}) {
  const { t } = useTranslation("instances");
  const client = useQueryClient();
  const run = async (action: InstanceAction, label: string) => {
    try {
      const response = await api.instances.executeInstanceAction({ id: instance.id, action: action.id });
      onResult({ label, success: response.success, message: response.message });
      if (response.success) toast.success(t("actions.succeeded", { label }));
      else toast.error(t("actions.failed", { label }));
    } catch (error) {
      onResult({ label, success: false, message: errorMessage(error) });
      toast.error(t("actions.failed", { label }));
    }
    for (const key of AFTER_INSTANCE_CHANGE) await client.invalidateQueries({ queryKey: key });
  };
  return (
    <TitledCard title={t("actions.title")}>
      {actions.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("actions.none")}</p>
      ) : (
        <div className="flex flex-wrap gap-2">
          {actions.map((action) => {
            const label = action.label || action.id;
            const variant = BUTTON_VARIANTS[action.style] ?? "outline";
            const unavailable = action.enabled === false;
            return (
              <span key={action.id} title={unavailable ? t("actions.unavailable") : undefined}>
                <ConfirmButton
                  variant={variant}
                  destructive={variant === "destructive"}
                  disabled={unavailable}
                  title={action.confirmation || t("actions.confirmTitle", { label })}
                  description={t("actions.confirmDescription", { label })}
                  confirmLabel={t("actions.run")}
                  onConfirm={() => run(action, label)}
                >
                  {label}
                </ConfirmButton>
              </span>
            );
          })}
        </div>
      )}
    </TitledCard>
  );
}

function RefreshStatus({ instance }: { instance: InstanceInfo }) {
  const { t } = useTranslation("instances");
  const refresh = useApiMutation(() => api.instances.refreshInstanceStatus({ id: instance.id }), {
    invalidate: AFTER_INSTANCE_CHANGE,
    successMessage: t("refresh.done"),
  });
  return (
    <Button
      variant="outline"
      disabled={refresh.isPending || instance.status === "terminated"}
      onClick={() => refresh.mutate()}
    >
      <RefreshCw className={cn(refresh.isPending && "animate-spin")} />
      {t("refresh.button")}
    </Button>
  );
}

function Terminate({ instance }: { instance: InstanceInfo }) {
  const { t } = useTranslation("instances");
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  return (
    <span title={isAdmin ? undefined : t("terminate.adminOnly")}>
      <ConfirmButton
        disabled={!isAdmin}
        title={t("terminate.confirmTitle")}
        description={t("terminate.confirmDescription")}
        confirmLabel={t("terminate.confirm")}
        onConfirm={async () => {
          await api.instances.terminateInstance({ id: instance.id, confirm: true });
          toast.success(t("terminate.done"));
          for (const key of AFTER_INSTANCE_CHANGE) await client.invalidateQueries({ queryKey: key });
        }}
      >
        {t("terminate.button")}
      </ConfirmButton>
    </span>
  );
}
