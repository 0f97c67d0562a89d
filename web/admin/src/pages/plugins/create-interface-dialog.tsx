import * as React from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogFooter } from "@/components/ui/dialog";
import { Input, Select } from "@/components/ui/input";
import { Field, useApiMutation } from "@/components/form";
import { QueryError } from "@/components/page";
import { api } from "@/lib/api";
import { ConfigFields, configErrors, useConfigForm } from "./config-form";
import { keys } from "./shared";

/**
 * New interface, in two steps of one dialog. PluginDef does not carry the
 * definition's config_schema; the server copies it onto the interface it
 * creates. So step 1 creates the interface (definition + display name; it
 * starts disabled with an empty configuration), and step 2 renders the
 * configuration form from the new interface's schema: "Save and enable",
 * "Save configuration", or "Configure later" (it stays disabled).
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
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <CreateInterfaceSteps definitionId={definitionId} onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

/** Mounted while the dialog is open, so each opening starts at step 1. */
function CreateInterfaceSteps({ definitionId, onDone }: { definitionId?: string; onDone: () => void }) {
  const { t } = useTranslation("plugins");
  const [created, setCreated] = React.useState<PluginInterfaceInfo | null>(null);
  if (created) {
    return (
      <DialogContent
        className="max-w-2xl"
        title={t("create.configureTitle", { name: created.displayName })}
        description={t("create.configureDescription")}
      >
        <ConfigureStep iface={created} onDone={onDone} />
      </DialogContent>
    );
  }
  return (
    <DialogContent title={t("create.title")} description={t("create.description")}>
      <CreateStep definitionId={definitionId} onCreated={setCreated} onCancel={onDone} />
    </DialogContent>
  );
}

function CreateStep({
  definitionId,
  onCreated,
  onCancel,
}: {
  definitionId?: string;
  onCreated: (iface: PluginInterfaceInfo) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation("plugins");
  const [pluginDefId, setPluginDefId] = React.useState(definitionId ?? "");
  const [displayName, setDisplayName] = React.useState("");
  const definitions = useQuery({
    queryKey: [...keys.definitions, ""],
    queryFn: () => api.integration.listPlugins({}),
  });
  const create = useApiMutation(
    () => api.integration.createPluginInterface({ pluginDefId, displayName, configJson: "{}" }),
    {
      invalidate: [keys.interfaces],
      successMessage: t("create.done"),
      onSuccess: (result) => {
        if (result.interface) onCreated(result.interface);
      },
    },
  );
  return (
    <form
      className="grid gap-4"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate(undefined);
      }}
    >
      {definitions.error ? <QueryError error={definitions.error} /> : null}
      <Field label={t("create.definition")} htmlFor="create-definition" error={create.errors.plugin_def_id}>
        <Select id="create-definition" value={pluginDefId} required onChange={(event) => setPluginDefId(event.target.value)}>
          <option value="">{t("create.pickDefinition")}</option>
          {(definitions.data?.plugins ?? []).map((plugin) => (
            <option key={plugin.id} value={plugin.id}>
              {`${plugin.pluginId} · ${t(`type.${plugin.pluginType}`, { defaultValue: plugin.pluginType })} · v${plugin.version}`}
            </option>
          ))}
        </Select>
      </Field>
      <Field
        label={t("field.displayName")}
        htmlFor="create-display-name"
        error={create.errors.display_name}
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
      <DialogFooter>
        <Button variant="outline" onClick={onCancel}>
          {t("action.cancel", { ns: "common" })}
        </Button>
        <Button type="submit" disabled={create.isPending || !pluginDefId}>
          {t("create.submit")}
        </Button>
      </DialogFooter>
    </form>
  );
}

/** The new interface's configuration, pre-filled with the schema's defaults. */
function ConfigureStep({ iface, onDone }: { iface: PluginInterfaceInfo; onDone: () => void }) {
  const { t } = useTranslation("plugins");
  const form = useConfigForm(iface.configSchema, iface.configJson, true);
  const save = useApiMutation(
    async ({ configJson, enable }: { configJson: string; enable: boolean }) => {
      await api.integration.updatePluginInterface({ interfaceId: iface.id, configJson });
      if (enable) await api.integration.togglePluginInterface({ interfaceId: iface.id, enable: true });
    },
    {
      invalidate: [keys.interfaces, keys.interface(iface.id)],
      successMessage: t("create.configured", { name: iface.displayName }),
      onSuccess: onDone,
    },
  );
  const errors = { ...save.errors, ...configErrors(save.error) };
  const submit = (enable: boolean) => {
    const configJson = form.build({ requireAll: enable });
    if (configJson !== null) save.mutate({ configJson, enable });
  };
  return (
    <form
      className="grid gap-4"
      onSubmit={(event) => {
        event.preventDefault();
        submit(true);
      }}
    >
      <ConfigFields form={form} errors={errors} />
      <p className="text-sm text-muted-foreground">
        <Link className="text-primary hover:underline" to={`/plugins/interfaces/${iface.id}`} onClick={onDone}>
          {t("create.openPage")}
        </Link>
      </p>
      <DialogFooter className="flex-wrap">
        <Button variant="outline" onClick={onDone}>
          {t("create.later")}
        </Button>
        <Button variant="outline" disabled={save.isPending} onClick={() => submit(false)}>
          {t("config.save")}
        </Button>
        <Button type="submit" disabled={save.isPending}>
          {t("create.saveAndEnable")}
        </Button>
      </DialogFooter>
    </form>
  );
}
