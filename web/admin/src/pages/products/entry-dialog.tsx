// Create or edit a product category or group: the fields both have (name,
// sort order, description), and a group's category.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import { Input, Textarea } from "@rustbill/ui/input";
import { DialogActions } from "@/components/dialog";
import { Field, Form } from "@/components/form";
import { sortOrderValue, useCatalogMutation } from "./shared";

interface EntryFields {
  name: string;
  description: string;
  sortOrder: number;
}

/**
 * The "New …" button (no `entry`) or a row's "Edit" button, and its dialog.
 * The update RPCs write every field, so `save` gets them all. `extra` draws
 * the kind's own fields after the name; `onOpen` resets their state.
 */
export function EntryDialog({
  kind,
  entry,
  save,
  extra,
  onOpen,
}: {
  kind: "category" | "group";
  entry?: { id: string } & EntryFields;
  save: (fields: EntryFields) => Promise<unknown>;
  extra?: (prefix: string, errors: Record<string, string>) => React.ReactNode;
  onOpen?: () => void;
}) {
  const { t } = useTranslation("products");
  const { t: tc } = useTranslation();
  const [open, setOpen] = React.useState(false);
  const [name, setName] = React.useState("");
  const [description, setDescription] = React.useState("");
  const [sortOrder, setSortOrder] = React.useState("0");
  const prefix = `${kind}-${entry?.id ?? "new"}`;

  const mutation = useCatalogMutation(
    () => save({ name, description, sortOrder: sortOrderValue(sortOrder) }),
    () => (entry ? t(`${kind}.updated`) : t(`${kind}.created`)),
    () => setOpen(false),
  );
  const openDialog = () => {
    setName(entry?.name ?? "");
    setDescription(entry?.description ?? "");
    setSortOrder(String(entry?.sortOrder ?? 0));
    onOpen?.();
    mutation.setErrors({});
    setOpen(true);
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      {entry ? (
        <Button size="sm" variant="outline" onClick={openDialog}>
          {tc("action.edit")}
        </Button>
      ) : (
        <Button onClick={openDialog}>
          <Plus />
          {t(`${kind}.new`)}
        </Button>
      )}
      <DialogContent title={entry ? t(`${kind}.editTitle`, { name: entry.name }) : t(`${kind}.new`)}>
        <Form onSubmit={() => mutation.run(undefined)}>
          <Field label={t("field.name")} htmlFor={`${prefix}-name`} error={mutation.errors.name}>
            <Input id={`${prefix}-name`} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} required />
          </Field>
          {extra?.(prefix, mutation.errors)}
          <Field label={t("field.sortOrder")} htmlFor={`${prefix}-sort`} error={mutation.errors.sort_order} hint={t("form.sortHint")}>
            <Input id={`${prefix}-sort`} type="number" min={0} step={1} value={sortOrder} onChange={(e) => setSortOrder(e.target.value)} />
          </Field>
          <Field label={t("field.description")} htmlFor={`${prefix}-description`} error={mutation.errors.description}>
            <Textarea id={`${prefix}-description`} value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <DialogActions submit={tc("action.save")} disabled={mutation.pending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
