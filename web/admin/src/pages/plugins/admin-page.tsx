import * as React from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "@tanstack/react-query";
import { RefreshCw } from "lucide-react";
import type { PluginInterfaceInfo } from "@/gen/rustbill/integration/integration_pb";
import { Button } from "@rustbill/ui/button";
import { Loading, QueryError, TitledCard } from "@/components/page";
import { api, errorMessage } from "@/lib/api";
import { keys } from "./shared";

/*
 * The plugin's own admin page (GetPluginAdminPage) in a sandboxed iframe,
 * with the postMessage bridge to CallPluginAction. The message format is
 * the one the bundled plugins' pages use (gateway-banktransfer.rn):
 *
 *   page → admin UI:  { type: "rustbill:call", id, function, args }
 *                     id: string or number chosen by the page;
 *                     function: the script function to call;
 *                     args: an object (optional), merged into the config.
 *   admin UI → page:  { type: "rustbill:result", id, ok: true, result }
 *                     { type: "rustbill:result", id, ok: false, error }
 *                     result: the function's JSON return value;
 *                     error: the server's message.
 *
 * The iframe is sandboxed with "allow-scripts allow-forms" and NOT
 * allow-same-origin: its document has an opaque origin and cannot reach
 * the admin UI's cookies, storage or DOM; it can only ask through this
 * bridge, and calls run with the logged-in admin's permissions
 * (CallPluginAction needs the admin role; contract functions are refused
 * by the server). Only messages whose source is this iframe's window are
 * handled, and answers go back to that window only. An opaque origin
 * cannot be named, hence targetOrigin "*".
 */

interface BridgeCall {
  type: "rustbill:call";
  id: string | number;
  function: string;
  args?: unknown;
}

function isBridgeCall(data: unknown): data is BridgeCall {
  if (data === null || typeof data !== "object") return false;
  const message = data as Record<string, unknown>;
  return (
    message.type === "rustbill:call" &&
    (typeof message.id === "string" || typeof message.id === "number") &&
    typeof message.function === "string"
  );
}

function parseResult(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function runCall(interfaceId: string, call: BridgeCall): Promise<Record<string, unknown>> {
  const args = call.args ?? {};
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return { ok: false, error: "args must be an object" };
  }
  try {
    const response = await api.integration.callPluginAction({
      interfaceId,
      function: call.function,
      argsJson: JSON.stringify(args),
    });
    return { ok: true, result: parseResult(response.resultJson) };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

export function AdminPageTab({ iface }: { iface: PluginInterfaceInfo }) {
  const { t } = useTranslation("plugins");
  const frame = React.useRef<HTMLIFrameElement>(null);
  const page = useQuery({
    queryKey: keys.adminPage(iface.id),
    queryFn: () => api.integration.getPluginAdminPage({ interfaceId: iface.id }),
    retry: false,
  });

  React.useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      const target = frame.current?.contentWindow;
      if (!target || event.source !== target || !isBridgeCall(event.data)) return;
      const call = event.data;
      void runCall(iface.id, call).then((outcome) =>
        target.postMessage({ type: "rustbill:result", id: call.id, ...outcome }, "*"),
      );
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, [iface.id]);

  return (
    <TitledCard
      title={page.data?.title || t("detailTabs.admin")}
      actions={
        <Button variant="outline" size="sm" disabled={page.isFetching} onClick={() => void page.refetch()}>
          <RefreshCw />
          {t("adminPage.reload")}
        </Button>
      }
    >
      {page.error ? (
        <QueryError error={page.error} />
      ) : page.data ? (
        // The plugin's page brings its own styles and expects a white canvas.
        <iframe
          key={page.dataUpdatedAt}
          ref={frame}
          title={page.data.title || iface.displayName}
          sandbox="allow-scripts allow-forms"
          srcDoc={page.data.htmlContent}
          className="h-[70vh] w-full rounded-md border bg-white"
          data-testid="plugin-admin-page"
        />
      ) : (
        <Loading />
      )}
    </TitledCard>
  );
}
