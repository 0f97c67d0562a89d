// A customer's API access: the permission flag and its API keys.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { Copy, TriangleAlert } from "lucide-react";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { DialogDone } from "@/components/dialog";
import { Field, useApiMutation } from "@/components/form";
import { TitledCard } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import { Input } from "@rustbill/ui/input";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import type { ApiKeyInfo, CreateApiKeyResponse } from "@/gen/rustbill/downstream/downstream_pb";
import { api } from "@/lib/api";
import { formatDateTime } from "@rustbill/ui/utils";
import { CheckboxField, useCopy } from "./shared";

export function ApiKeysTab({ customer }: { customer: CustomerInfo }) {
  const { t } = useTranslation("customers");
  const permission = useApiMutation(
    (allowed: boolean) => api.customers.updateCustomer({ id: customer.id, canCreateApiKeys: allowed }),
    {
      invalidate: [["customers"]],
      successMessage: t("apiKeys.permissionSaved"),
    },
  );
  return (
    <div className="grid gap-4">
      <TitledCard title={t("apiKeys.permissionTitle")}>
        <CheckboxField
          id="customer-api-permission"
          label={t("field.canCreateApiKeys")}
          hint={t("apiKeys.permissionHint")}
          checked={customer.canCreateApiKeys}
          disabled={permission.isPending}
          onChange={(allowed) => permission.mutate(allowed)}
        />
      </TitledCard>
      <ApiKeyList customerId={customer.id} />
    </div>
  );
}

function ApiKeyList({ customerId }: { customerId: string }) {
  const { t, i18n } = useTranslation("customers");
  const client = useQueryClient();
  const keys = useQuery({
    queryKey: ["customers", "apiKeys", customerId],
    queryFn: () => api.apiKeys.listApiKeys({ customerId }),
  });
  const [name, setName] = React.useState("");
  const [created, setCreated] = React.useState<CreateApiKeyResponse | null>(null);
  const create = useApiMutation((keyName: string) => api.apiKeys.createApiKey({ customerId, name: keyName }), {
    invalidate: [["customers", "apiKeys", customerId]],
    successMessage: t("apiKeys.created"),
    onSuccess: (response) => {
      setName("");
      setCreated(response);
    },
  });
  const now = Date.now();
  const state = (key: ApiKeyInfo) =>
    !key.enabled ? "revoked" : key.expiresAt && new Date(key.expiresAt).getTime() < now ? "expired" : "active";
  const columns: Column<ApiKeyInfo>[] = [
    { key: "name", header: t("apiKeys.name"), cell: (key) => key.name },
    { key: "prefix", header: t("apiKeys.prefix"), cell: (key) => <span className="font-mono text-xs">{key.keyPrefix}…</span> },
    {
      key: "status",
      header: t("field.status"),
      cell: (key) => {
        const value = state(key);
        return <Badge tone={value === "active" ? "green" : value === "expired" ? "yellow" : "neutral"}>{t(`apiKeys.state.${value}`)}</Badge>;
      },
    },
    timeColumn("created", t("field.createdAt"), (key) => key.createdAt),
    { key: "used", header: t("apiKeys.lastUsed"), cell: (key) => formatDateTime(key.lastUsedAt, i18n.language) || t("apiKeys.never") },
    { key: "expires", header: t("apiKeys.expires"), cell: (key) => formatDateTime(key.expiresAt, i18n.language) || t("apiKeys.noExpiry") },
    {
      key: "actions",
      header: <span className="sr-only">{t("actions")}</span>,
      className: "text-right",
      cell: (key) =>
        key.enabled ? (
          <ConfirmButton
            size="sm"
            title={t("apiKeys.revokeTitle", { name: key.name })}
            description={t("apiKeys.revokeDescription")}
            confirmLabel={t("apiKeys.revoke")}
            onConfirm={async () => {
              await api.apiKeys.revokeApiKey({ id: key.id });
              toast.success(t("apiKeys.revoked"));
              await client.invalidateQueries({ queryKey: ["customers", "apiKeys", customerId] });
            }}
          >
            {t("apiKeys.revoke")}
          </ConfirmButton>
        ) : null,
    },
  ];
  return (
    <TitledCard title={t("apiKeys.title")} description={t("apiKeys.description")} contentClassName="grid gap-4">
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate(name.trim());
        }}
      >
        <div className="w-72">
          <Field label={t("apiKeys.name")} htmlFor="api-key-name" error={create.errors.name}>
            <Input id="api-key-name" required maxLength={100} value={name} onChange={(event) => setName(event.target.value)} />
          </Field>
        </div>
        <Button type="submit" disabled={create.isPending || !name.trim()}>
          {t("apiKeys.create")}
        </Button>
      </form>
      <DataTable columns={columns} rows={keys.data?.keys} rowKey={(key) => key.id} loading={keys.isPending} error={keys.error} />
      <SecretDialog created={created} onClose={() => setCreated(null)} />
    </TitledCard>
  );
}

/** The new key's secret, shown this one time, with a copy button. */
function SecretDialog({ created, onClose }: { created: CreateApiKeyResponse | null; onClose: () => void }) {
  const { t } = useTranslation("customers");
  const copy = useCopy();
  const field = React.useRef<HTMLInputElement>(null);
  return (
    <Dialog
      open={created !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
    >
      <DialogContent title={t("apiKeys.secretTitle")} onInteractOutside={(event) => event.preventDefault()}>
        <div role="alert" className="flex gap-2 rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive">
          <TriangleAlert className="size-4 shrink-0" />
          {t("apiKeys.secretWarning")}
        </div>
        <Field label={t("apiKeys.secret")} htmlFor="api-key-secret">
          <div className="flex gap-2">
            <Input
              id="api-key-secret"
              ref={field}
              readOnly
              className="font-mono text-xs"
              value={created?.apiKey ?? ""}
              onFocus={(event) => event.target.select()}
            />
            <Button variant="outline" onClick={() => void copy(created?.apiKey ?? "", field.current)}>
              <Copy />
              {t("apiKeys.copy")}
            </Button>
          </div>
        </Field>
        <DialogDone label={t("apiKeys.done")} onClose={onClose} />
      </DialogContent>
    </Dialog>
  );
}
