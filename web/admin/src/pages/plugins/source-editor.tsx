import * as React from "react";
import { useTranslation } from "react-i18next";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { rust } from "@codemirror/lang-rust";
import { useQueryClient } from "@tanstack/react-query";
import type { PluginInterfaceInfo, UpdatePluginInterfaceResponse } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Badge, Card, CardContent } from "@rustbill/ui/card";
import { ConfirmButton } from "@/components/confirm";
import { useApiMutation } from "@/components/form";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { keys } from "./shared";

/** Follows the app's theme (the `dark` class on <html>), which can change while the page is open. */
function useDarkTheme(): boolean {
  const [dark, setDark] = React.useState(() => document.documentElement.classList.contains("dark"));
  React.useEffect(() => {
    const root = document.documentElement;
    const observer = new MutationObserver(() => setDark(root.classList.contains("dark")));
    observer.observe(root, { attributes: true, attributeFilter: ["class"] });
    return () => observer.disconnect();
  }, []);
  return dark;
}

/**
 * The interface's script (RustBill extension of UpdatePluginInterface):
 * "Save and reload" sends `script_source`; the server compiles it and checks
 * its type's contract before storing it, and the next call runs it (no
 * restart). A rejected script comes back as a `script_source` field error,
 * shown under the editor. "Revert" sends "" (back to the definition's
 * script).
 */
export function SourceTab({ iface }: { iface: PluginInterfaceInfo }) {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const dark = useDarkTheme();
  const stored = iface.scriptSource;
  const [draft, setDraft] = React.useState(stored);
  const [base, setBase] = React.useState(stored);
  if (stored !== base) {
    // The stored script changed (saved, reverted, or edited elsewhere): start from it.
    setBase(stored);
    setDraft(stored);
  }
  const dirty = draft !== stored;
  // The response is the stored interface: its plugin_version is the new
  // script's version() (the definition's after a revert), so it replaces the
  // cached record at once.
  const client = useQueryClient();
  const invalidate = [keys.interfaces, keys.adminPage(iface.id)];
  const store = (result: UpdatePluginInterfaceResponse) => {
    if (result.interface) client.setQueryData(keys.interface(iface.id), result.interface);
  };
  const save = useApiMutation(
    () => api.integration.updatePluginInterface({ interfaceId: iface.id, scriptSource: draft }),
    { invalidate, successMessage: t("script.saved"), onSuccess: store },
  );
  const revert = useApiMutation(
    () => api.integration.updatePluginInterface({ interfaceId: iface.id, scriptSource: "" }),
    { invalidate, successMessage: t("script.reverted"), onSuccess: store },
  );
  const extensions = React.useMemo(
    () => [rust(), EditorView.contentAttributes.of({ "aria-label": t("script.editorLabel") })],
    [t],
  );
  const compileError = save.errors.script_source ?? revert.errors.script_source;
  return (
    <Card>
      <CardContent className="grid gap-3 pt-4">
        <div
          className="flex flex-wrap items-center gap-x-4 gap-y-2 text-sm"
          data-testid="script-state"
          data-version={iface.pluginVersion}
          data-script-overridden={String(iface.scriptOverridden)}
          data-script-error={iface.scriptError ? "true" : "false"}
          data-updated-at={iface.updatedAt}
        >
          <span>
            {t("field.version")}: <span className="font-mono">{iface.pluginVersion}</span>
          </span>
          <span>
            {t("script.stateLabel")}:{" "}
            {iface.scriptOverridden ? (
              <Badge tone="yellow">{t("script.overridden")}</Badge>
            ) : (
              <Badge tone="neutral">{t("script.fromDefinition")}</Badge>
            )}
          </span>
          {dirty ? <Badge tone="blue">{t("script.unsaved")}</Badge> : null}
        </div>
        {iface.scriptError ? (
          <div role="alert" className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive">
            <p className="font-medium">{t("script.currentBroken")}</p>
            <pre className="mt-1 whitespace-pre-wrap font-mono text-xs">{iface.scriptError}</pre>
          </div>
        ) : null}
        <div className="overflow-hidden rounded-md border" data-testid="script-editor">
          <CodeMirror
            value={draft}
            onChange={setDraft}
            height="60vh"
            theme={dark ? "dark" : "light"}
            extensions={extensions}
            editable={isAdmin}
            readOnly={!isAdmin}
            basicSetup={{ tabSize: 4 }}
          />
        </div>
        {compileError ? (
          <div
            role="alert"
            data-testid="script-compile-error"
            className="rounded-md border border-destructive/40 bg-destructive/10 p-3 text-sm text-destructive"
          >
            <p className="font-medium">{t("script.rejected")}</p>
            <pre className="mt-1 whitespace-pre-wrap font-mono text-xs">{compileError}</pre>
          </div>
        ) : null}
        {isAdmin ? (
          <div className="flex flex-wrap items-center gap-2">
            <Button disabled={!dirty || save.isPending} onClick={() => save.mutate(undefined)}>
              {save.isPending ? t("script.saving") : t("script.save")}
            </Button>
            <Button variant="outline" disabled={!dirty} onClick={() => setDraft(stored)}>
              {t("script.discard")}
            </Button>
            <ConfirmButton
              variant="outline"
              disabled={!iface.scriptOverridden || revert.isPending}
              title={t("script.revertTitle")}
              description={t("script.revertDescription")}
              confirmLabel={t("script.revert")}
              onConfirm={() => revert.mutateAsync(undefined).catch(() => undefined)}
            >
              {t("script.revert")}
            </ConfirmButton>
            <p className="text-xs text-muted-foreground">{t("script.hint")}</p>
          </div>
        ) : (
          <p className="text-sm text-muted-foreground">{t("adminOnly")}</p>
        )}
      </CardContent>
    </Card>
  );
}
