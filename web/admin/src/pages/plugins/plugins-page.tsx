import * as React from "react";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Plus, Power } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@rustbill/ui/tabs";
import { ConfirmButton } from "@/components/confirm";
import { PageHeader } from "@/components/page";
import { api } from "@/lib/api";
import { useIsAdmin } from "@/lib/auth";
import { useListState } from "@/lib/list";
import { BreakersTab } from "./breakers-tab";
import { CreateInterfaceDialog } from "./create-interface-dialog";
import { DefinitionsTab } from "./definitions-tab";
import { InterfacesTab, type PluginsFilter } from "./interfaces-tab";

const FILTERS: readonly PluginsFilter[] = ["tab", "type", "enabled"];
const TABS = ["interfaces", "definitions", "breakers"] as const;

/** /plugins: interfaces, definitions and circuit breakers; the tab is in the URL (?tab=). */
export function PluginsPage() {
  const { t } = useTranslation("plugins");
  const isAdmin = useIsAdmin();
  const list = useListState(FILTERS);
  const tab = (TABS as readonly string[]).includes(list.filters.tab) ? list.filters.tab : "interfaces";
  const [creating, setCreating] = React.useState<{ definitionId?: string } | null>(null);
  return (
    <div>
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          isAdmin ? (
            <>
              <Button onClick={() => setCreating({})}>
                <Plus />
                {t("create.button")}
              </Button>
              <RestartServerButton />
            </>
          ) : null
        }
      />
      <Tabs value={tab} onValueChange={(value) => list.setFilter("tab", value === "interfaces" ? "" : value)}>
        <TabsList>
          <TabsTrigger value="interfaces">{t("tabs.interfaces")}</TabsTrigger>
          <TabsTrigger value="definitions">{t("tabs.definitions")}</TabsTrigger>
          <TabsTrigger value="breakers">{t("tabs.breakers")}</TabsTrigger>
        </TabsList>
        <TabsContent value="interfaces">
          <InterfacesTab list={list} />
        </TabsContent>
        <TabsContent value="definitions">
          <DefinitionsTab list={list} onCreateInterface={(definitionId) => setCreating({ definitionId })} />
        </TabsContent>
        <TabsContent value="breakers">
          <BreakersTab />
        </TabsContent>
      </Tabs>
      <CreateInterfaceDialog
        open={creating !== null}
        onOpenChange={(open) => !open && setCreating(null)}
        definitionId={creating?.definitionId}
      />
    </div>
  );
}

/** RestartServer (admin): graceful shutdown, the process manager starts it again. */
function RestartServerButton() {
  const { t } = useTranslation("plugins");
  return (
    <ConfirmButton
      variant="outline"
      title={t("restart.title")}
      description={t("restart.description")}
      confirmLabel={t("restart.button")}
      onConfirm={async () => {
        await api.integration.restartServer({});
        toast.success(t("restart.done"));
      }}
    >
      <Power />
      {t("restart.button")}
    </ConfirmButton>
  );
}
