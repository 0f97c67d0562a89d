// API keys: create (the secret is shown once, then forgotten), list and
// revoke. A customer without API access gets an explanation, not an error.
import * as React from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Badge, Card, CardContent } from "@rustbill/ui/card";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Input } from "@rustbill/ui/input";
import { formatDateTime } from "@rustbill/ui/utils";
import type { ApiKeyInfo } from "@/gen/rustbill/downstream/downstream_pb";
import { Code, ConnectError, api, errorMessage, fieldErrors } from "@/lib/api";
import { Field } from "@/pages/catalog/widgets";
import { ConfirmDialog, CopyButton, QueryBody } from "../orders/parts";

const KEYS = ["apiKeys", "own"] as const;

function accessDenied(error: unknown) {
  return ConnectError.from(error).code === Code.PermissionDenied;
}

export default function ApiKeysPage() {
  const { t } = useTranslation("account");
  const keys = useQuery({ queryKey: KEYS, queryFn: () => api.apiKeys.listApiKeys({}), retry: (count, error) => !accessDenied(error) && count < 2 });
  const [creating, setCreating] = React.useState(false);
  const [secret, setSecret] = React.useState<string | null>(null);

  if (keys.isError && accessDenied(keys.error)) {
    return (
      <div className="grid gap-4">
        <h1 className="text-2xl font-semibold">{t("apiKeys.title")}</h1>
        <Card>
          <CardContent className="grid gap-2 pt-6">
            <p className="font-medium">{t("apiKeys.disabledTitle")}</p>
            <p className="text-sm text-muted-foreground">{t("apiKeys.disabledText")}</p>
            <div>
              <Button asChild variant="outline">
                <Link to="/dashboard/tickets/new">{t("apiKeys.contact")}</Link>
              </Button>
            </div>
          </CardContent>
        </Card>
      </div>
    );
  }

  return (
    <div className="grid gap-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("apiKeys.title")}</h1>
        <Button onClick={() => setCreating(true)} disabled={!keys.isSuccess}>
          {t("apiKeys.create")}
        </Button>
      </div>
      <p className="max-w-3xl text-sm text-muted-foreground">{t("apiKeys.intro")}</p>
      <QueryBody query={keys} isEmpty={(data) => data.keys.length === 0} empty={t("apiKeys.empty")}>
        {(data) => (
        <KeyRows keys={data.keys} />
        )}
      </QueryBody>
      <CreateKeyDialog
        open={creating}
        onOpenChange={setCreating}
        onCreated={(created) => {
          setCreating(false);
          setSecret(created);
        }}
      />
      <Dialog open={secret !== null} onOpenChange={(open) => !open && setSecret(null)}>
        <DialogContent title={t("apiKeys.createdTitle")} description={t("apiKeys.createdWarning")}>
          <div className="flex flex-wrap items-center gap-2">
            <code data-testid="api-key-secret" className="min-w-0 flex-1 break-all rounded-md bg-muted p-3 font-mono text-sm">
              {secret}
            </code>
            {secret ? <CopyButton value={secret} /> : null}
          </div>
          <DialogFooter>
            <Button onClick={() => setSecret(null)}>{t("apiKeys.close")}</Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </div>
  );
}

function CreateKeyDialog({
  open,
  onOpenChange,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onCreated: (secret: string) => void;
}) {
  const { t } = useTranslation("account");
  const client = useQueryClient();
  const [name, setName] = React.useState("");
  const [error, setError] = React.useState("");
  const create = useMutation({
    mutationFn: () => api.apiKeys.createApiKey({ name: name.trim() }),
    onSuccess: (response) => {
      setName("");
      void client.invalidateQueries({ queryKey: KEYS });
      onCreated(response.apiKey);
    },
    onError: (failure) => {
      const fields = fieldErrors(failure);
      if (fields.name) setError(fields.name);
      else toast.error(errorMessage(failure));
    },
  });
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={t("apiKeys.createTitle")}>
        <form
          className="grid gap-4"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (!name.trim()) {
              setError(t("apiKeys.required"));
              return;
            }
            setError("");
            create.mutate();
          }}
        >
          <Field id="api-key-name" label={t("apiKeys.name")} hint={t("apiKeys.nameHint")} error={error}>
            <Input id="api-key-name" maxLength={100} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
          </Field>
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t("action.cancel", { ns: "common" })}
            </Button>
            <Button type="submit" disabled={create.isPending}>
              {t("apiKeys.submit")}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function KeyRows({ keys }: { keys: ApiKeyInfo[] }) {
  const { t, i18n } = useTranslation("account");
  const client = useQueryClient();
  const [revoking, setRevoking] = React.useState<ApiKeyInfo | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => api.apiKeys.revokeApiKey({ id }),
    onSuccess: () => {
      setRevoking(null);
      toast.success(t("apiKeys.revokedToast"));
      void client.invalidateQueries({ queryKey: KEYS });
    },
    onError: (error) => {
      setRevoking(null);
      toast.error(errorMessage(error));
    },
  });
  const when = (value: string) => (value ? formatDateTime(value, i18n.language) : "--");
  const [now] = React.useState(Date.now);
  const columns = "xl:grid-cols-[1fr_10rem_6rem_9rem_9rem_9rem_6rem]";
  // Below xl each key is a card whose dates carry their own labels; from xl
  // (seven columns need the room beside the sidebar) the cells are reordered
  // with CSS order into the table's columns.
  const labelled = (label: string, value: string) => (
    <>
      <span className="xl:hidden">{label}: </span>
      {value}
    </>
  );
  return (
    <>
      <ul className="grid gap-2 xl:gap-0 xl:overflow-hidden xl:rounded-lg xl:border">
        <li className={`hidden gap-x-3 bg-muted/50 px-3 py-2 text-xs font-medium text-muted-foreground xl:grid ${columns}`} aria-hidden>
          <span>{t("apiKeys.field.name")}</span>
          <span>{t("apiKeys.field.prefix")}</span>
          <span>{t("apiKeys.field.status")}</span>
          <span>{t("apiKeys.field.created")}</span>
          <span>{t("apiKeys.field.lastUsed")}</span>
          <span>{t("apiKeys.field.expires")}</span>
          <span />
        </li>
        {keys.map((key) => {
          const expired = key.enabled && key.expiresAt !== "" && Date.parse(key.expiresAt) <= now;
          return (
            <li
              key={key.id}
              data-row-key={key.id}
              className={`grid grid-cols-2 gap-x-3 gap-y-1 rounded-lg border bg-card p-3 text-sm xl:items-center xl:rounded-none xl:border-0 xl:border-t xl:bg-transparent xl:py-2 ${columns}`}
            >
              <span className="break-words font-medium xl:order-1">{key.name}</span>
              <span className="justify-self-end xl:order-3 xl:justify-self-start">
                <Badge tone={!key.enabled ? "neutral" : expired ? "yellow" : "green"}>
                  {!key.enabled ? t("apiKeys.revoked") : expired ? t("apiKeys.expired") : t("apiKeys.enabled")}
                </Badge>
              </span>
              <span className="col-span-2 break-all font-mono text-xs xl:order-2 xl:col-span-1">{key.keyPrefix}…</span>
              <span className="text-xs text-muted-foreground xl:order-4 xl:text-sm">
                {labelled(t("apiKeys.field.created"), when(key.createdAt))}
              </span>
              <span className="justify-self-end text-xs text-muted-foreground xl:order-5 xl:justify-self-start xl:text-sm">
                {labelled(t("apiKeys.field.lastUsed"), key.lastUsedAt ? when(key.lastUsedAt) : t("apiKeys.never"))}
              </span>
              <span className="self-center text-xs text-muted-foreground xl:order-6 xl:text-sm">
                {labelled(t("apiKeys.field.expires"), key.expiresAt ? when(key.expiresAt) : t("apiKeys.noExpiry"))}
              </span>
              <span className="justify-self-end xl:order-7">
                {key.enabled ? (
                  <Button variant="outline" size="sm" onClick={() => setRevoking(key)}>
                    {t("apiKeys.revoke")}
                  </Button>
                ) : null}
              </span>
            </li>
          );
        })}
      </ul>
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={t("apiKeys.revokeTitle", { name: revoking?.name ?? "" })}
        description={t("apiKeys.revokeText")}
        confirmLabel={t("apiKeys.revoke")}
        destructive
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      />
    </>
  );
}
