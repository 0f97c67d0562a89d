// The batch toolbar over a product table: activate, deactivate, move to a
// group, reprice by markup over cost, delete.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Input } from "@rustbill/ui/input";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import { ConfirmButton } from "@/components/confirm";
import { DialogActions } from "@/components/dialog";
import { Field, Form } from "@/components/form";
import { api } from "@/lib/api";
import { GroupField, markupPercent, useCatalogMutation } from "./shared";

/** `onDeleted` runs after a batch delete (to clear the selection). */
export function BatchActions({ ids, onDeleted }: { ids: string[]; onDeleted: () => void }) {
  const { t } = useTranslation("products");
  const count = ids.length;
  const none = count === 0;

  const setActive = useCatalogMutation(
    (isActive: boolean) => api.products.batchSetActive({ productIds: ids, isActive }),
    (result, isActive) =>
      t(isActive ? "batch.activated" : "batch.deactivated", { count: result.updatedCount }),
  );
  const remove = useCatalogMutation(
    () => api.products.batchDelete({ productIds: ids }),
    (result) =>
      [
        t("batch.deleted", { count: result.deletedCount }),
        result.deactivatedProductIds.length > 0
          ? t("batch.deactivatedInstead", { count: result.deactivatedProductIds.length })
          : "",
        result.notFoundIds.length > 0 ? t("batch.notFound", { count: result.notFoundIds.length }) : "",
      ]
        .filter(Boolean)
        .join(" "),
    onDeleted,
  );

  return (
    <div className="flex flex-wrap items-center gap-2 rounded-md border bg-muted/40 px-3 py-2 text-sm">
      <span className="mr-2 text-muted-foreground">{t("batch.selected", { count })}</span>
      <Button size="sm" variant="outline" disabled={none || setActive.pending} onClick={() => setActive.run(true)}>
        {t("batch.activate")}
      </Button>
      <Button size="sm" variant="outline" disabled={none || setActive.pending} onClick={() => setActive.run(false)}>
        {t("batch.deactivate")}
      </Button>
      <SetGroupDialog ids={ids} />
      <MarkupDialog ids={ids} />
      <ConfirmButton
        size="sm"
        disabled={none}
        title={t("batch.deleteTitle", { count })}
        description={t("batch.deleteDescription")}
        confirmLabel={t("batch.delete")}
        onConfirm={() => remove.runAsync(undefined)}
      >
        {t("batch.delete")}
      </ConfirmButton>
    </div>
  );
}

function SetGroupDialog({ ids }: { ids: string[] }) {
  const { t } = useTranslation("products");
  const [open, setOpen] = React.useState(false);
  const [groupId, setGroupId] = React.useState("");
  const action = useCatalogMutation(
    () => api.products.batchSetGroup({ productIds: ids, groupId }),
    (result) => t("batch.grouped", { count: result.updatedCount }),
    () => setOpen(false),
  );
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button size="sm" variant="outline" disabled={ids.length === 0} onClick={() => setOpen(true)}>
        {t("batch.setGroup")}
      </Button>
      <DialogContent title={t("batch.setGroupTitle", { count: ids.length })}>
        <Form onSubmit={() => action.run(undefined)}>
          <GroupField id="batch-group" value={groupId} onChange={setGroupId} error={action.errors.group_id} />
          <DialogActions submit={t("batch.apply")} disabled={action.pending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}

function MarkupDialog({ ids }: { ids: string[] }) {
  const { t } = useTranslation("products");
  const [open, setOpen] = React.useState(false);
  const [ratio, setRatio] = React.useState("1.3");
  const action = useCatalogMutation(
    () => api.products.batchUpdatePrice({ productIds: ids, markupRatio: ratio.trim() }),
    (result) =>
      [
        t("batch.repriced", { count: result.updatedCount }),
        result.skippedProductIds.length > 0 ? t("batch.skippedNoCost", { count: result.skippedProductIds.length }) : "",
        result.notFoundIds.length > 0 ? t("batch.notFound", { count: result.notFoundIds.length }) : "",
      ]
        .filter(Boolean)
        .join(" "),
    () => setOpen(false),
  );
  const percent = markupPercent(ratio);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button size="sm" variant="outline" disabled={ids.length === 0} onClick={() => setOpen(true)}>
        {t("batch.markup")}
      </Button>
      <DialogContent title={t("batch.markupTitle", { count: ids.length })} description={t("markup.explain")}>
        <Form onSubmit={() => action.run(undefined)}>
          <Field
            label={t("markup.ratio")}
            htmlFor="markup-ratio"
            error={action.errors.markup_ratio}
            hint={percent ? t("markup.preview", { percent }) : t("markup.hint")}
          >
            <Input
              id="markup-ratio"
              inputMode="decimal"
              value={ratio}
              onChange={(event) => setRatio(event.target.value)}
              required
            />
          </Field>
          <DialogActions submit={t("markup.apply")} disabled={action.pending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
