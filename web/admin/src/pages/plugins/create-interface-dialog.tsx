import * as React from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { toast } from "sonner";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Input, Select } from "@rustbill/ui/input";
import { Field, Form } from "@/components/form";
import { QueryError } from "@/components/page";
import { api, errorMessage } from "@/lib/api";
import { ConfigFields, configErrors, useConfigForm } from "./config-form";
import { keys } from "./shared";

/**
 * New interface, in one form: the plugin definition, a display name and the
 * configuration form rendered from the definition's config_schema (with its
 * defaults). "Create" stores it disabled (required fields may stay empty);
 * "Create and enable" needs every required field, creates it and enables it.
 */
export function CreateInterfaceDialog({
  open,
  onOpenChange,
  definitionId,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  definitionId?: string;
}) {
  const { t } = useTranslation("plugins");
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-2xl" title={t("create.title")} description={t("create.description")}>
        {/* Mounted while open, so each opening starts empty. */}
        {open ? <CreateInterfaceForm definitionId={definitionId} onDone={() => onOpenChange(false)} /> : null}
      </DialogContent>
    </Dialog>
  );
}

interface Created {
  iface: PluginInterfaceInfo;
  /** Set when "Create and enable" created the interface but could not enable it. */
  enableError?: string;
}

function CreateInterfaceForm({ definitionId, onDone }: { definitionId?: string; onDone: () => void }) {
  const { t } = useTranslation("plugins");
  const navigate = useNavigate();
  const client = useQueryClient();
  const [pluginDefId, setPluginDefId] = React.useState(definitionId ?? "");
  const [displayName, setDisplayName] = React.useState("");
  const definitions = useQuery({
    queryKey: [...keys.definitions, ""],
    queryFn: () => api.integration.listPlugins({}),
  });
  const plugins = definitions.data?.plugins ?? [];
  const definition = plugins.find((plugin) => plugin.id === pluginDefId);
  // The configuration form follows the chosen definition's schema (and its defaults).
  const form = useConfigForm(definition?.configSchema ?? "", "{}", true);
  const create = useMutation({
    mutationFn: async ({ configJson, enable }: { configJson: string; enable: boolean }): Promise<Created> => {
      const created = (await api.integration.createPluginInterface({ pluginDefId, displayName, configJson })).interface;
      if (!created) throw new Error(t("create.noInterface"));
      if (!enable) return { iface: created };
      try {
        const toggled = await api.integration.togglePluginInterface({ interfaceId: created.id, enable: true });
        return { iface: toggled.interface ?? created };
      } catch (error) {
        return { iface: created, enableError: errorMessage(error) };
      }
    },
    onSuccess: async ({ iface, enableError }, { enable }) => {
      await client.invalidateQueries({ queryKey: keys.interfaces });
      const page = `/plugins/interfaces/${iface.id}`;
      if (enableError) {
        // The interface exists (disabled): continue on its page.
        toast.error(t("create.notEnabled", { name: iface.displayName, error: enableError }));
        navigate(page);
      } else {
        toast.success(t(enable ? "create.doneEnabled" : "create.done", { name: iface.displayName }), {
          action: { label: t("create.open"), onClick: () => navigate(page) },
        });
      }
      onDone();
    },
    onError: (error) => toast.error(errorMessage(error)),
  });
  const errors = configErrors(create.error);
  const submit = (enable: boolean) => {
    const configJson = form.build({ requireAll: enable });
    if (configJson !== null) create.mutate({ configJson, enable });
  };
  return (
    <Form onSubmit={() => submit(false)}>
      {definitions.error ? <QueryError error={definitions.error} /> : null}
      <Field
        label={t("create.definition")}
        htmlFor="create-definition"
        error={errors.plugin_def_id}
        hint={definition ? <span className="font-mono">{definition.fileName}</span> : undefined}
      >
        <Select
          id="create-definition"
          value={pluginDefId}
          required
          onChange={(event) => {
            setPluginDefId(event.target.value);
            create.reset();
          }}
        >
          <option value="">{t("create.pickDefinition")}</option>
          {plugins.map((plugin) => (
            <option key={plugin.id} value={plugin.id}>
              {`${plugin.pluginId} · ${t(`type.${plugin.pluginType}`, { defaultValue: plugin.pluginType })} · v${plugin.version}`}
            </option>
          ))}
        </Select>
      </Field>
      {definition?.loadError ? (
        <div role="alert" className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive">
          <p className="font-medium">{t("definitions.loadErrorRunning", { version: definition.version })}</p>
          <pre className="mt-1 whitespace-pre-wrap font-mono text-xs">{definition.loadError}</pre>
        </div>
      ) : null}
      <Field
        label={t("field.displayName")}
        htmlFor="create-display-name"
        error={errors.display_name}
        hint={t("create.displayNameHint")}
      >
        <Input
          id="create-display-name"
          value={displayName}
          required
          maxLength={100}
          onChange={(event) => setDisplayName(event.target.value)}
        />
      </Field>
      <fieldset className="grid gap-4 rounded-md border p-4">
        <legend className="px-1 text-sm font-medium">{t("create.configuration")}</legend>
        {definition ? (
          <>
            <p className="text-xs text-muted-foreground">{t("create.configurationHint")}</p>
            <ConfigFields form={form} errors={errors} />
          </>
        ) : (
          <p className="text-sm text-muted-foreground">{t("create.pickFirst")}</p>
        )}
      </fieldset>
      <DialogFooter className="flex-wrap">
        <Button variant="outline" onClick={onDone}>
          {t("action.cancel", { ns: "common" })}
        </Button>
        <Button type="submit" variant="outline" disabled={create.isPending || !definition}>
          {t("create.submit")}
        </Button>
        <Button
          disabled={create.isPending || !definition}
          onClick={(event) => {
            if (event.currentTarget.form?.reportValidity()) submit(true);
          }}
        >
          {t("create.submitAndEnable")}
        </Button>
      </DialogFooter>
    </Form>
  );
}
