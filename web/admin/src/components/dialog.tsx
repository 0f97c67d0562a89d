// Dialog scaffolding: a dialog whose form is mounted afresh each time it
// opens, and the Cancel / submit buttons at the bottom of its form.
import type * as React from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";

/** A dialog that mounts its content only while open, so each opening starts with a new form. */
export function FormDialog({
  open,
  onOpenChange,
  title,
  description,
  className,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: string;
  className?: string;
  children: React.ReactNode;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={title} description={description} className={className}>
        {open ? children : null}
      </DialogContent>
    </Dialog>
  );
}

/** A dialog about one record: open while `record` is set; closing it calls `onClose`. */
export function RecordDialog<T>({
  record,
  onClose,
  title,
  description,
  children,
}: {
  record: T | null;
  onClose: () => void;
  title: (record: T) => string;
  description?: (record: T) => string;
  children: (record: T) => React.ReactNode;
}) {
  return (
    <FormDialog
      open={record !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      title={record === null ? "" : title(record)}
      description={record === null ? undefined : description?.(record)}
    >
      {record === null ? null : children(record)}
    </FormDialog>
  );
}

/**
 * The buttons of a dialog's form: Cancel (when `onCancel` is given) and the
 * submit button (`disabled` while pending or incomplete).
 */
export function DialogActions({
  submit,
  onCancel,
  disabled,
  destructive,
}: {
  submit: React.ReactNode;
  onCancel?: () => void;
  disabled?: boolean;
  destructive?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <DialogFooter>
      {onCancel ? (
        <Button variant="outline" onClick={onCancel}>
          {t("action.cancel")}
        </Button>
      ) : null}
      <Button type="submit" variant={destructive ? "destructive" : "default"} disabled={disabled}>
        {submit}
      </Button>
    </DialogFooter>
  );
}

/** The one button under a dialog's result: close it. */
export function DialogDone({ label, onClose }: { label: React.ReactNode; onClose: () => void }) {
  return (
    <DialogFooter>
      <Button onClick={onClose}>{label}</Button>
    </DialogFooter>
  );
}
