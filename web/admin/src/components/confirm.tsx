import * as React from "react";
import * as AlertDialog from "@radix-ui/react-alert-dialog";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button, type ButtonProps } from "@rustbill/ui/button";
import { errorMessage } from "@/lib/api";

/**
 * A button that asks before it acts. Every destructive action goes through
 * it: the dialog names what will happen, and a failure is shown as a toast.
 */
export function ConfirmButton({
  title,
  description,
  confirmLabel,
  onConfirm,
  destructive = true,
  children,
  ...button
}: Omit<ButtonProps, "onClick" | "title"> & {
  title: React.ReactNode;
  description?: React.ReactNode;
  confirmLabel?: React.ReactNode;
  destructive?: boolean;
  onConfirm: () => Promise<unknown> | unknown;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await onConfirm();
      setOpen(false);
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <AlertDialog.Root open={open} onOpenChange={setOpen}>
      <AlertDialog.Trigger asChild>
        <Button variant={destructive ? "destructive" : "default"} {...button}>
          {children}
        </Button>
      </AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-50 bg-black/50" />
        <AlertDialog.Content className="fixed left-1/2 top-1/2 z-50 grid w-full max-w-md -translate-x-1/2 -translate-y-1/2 gap-4 rounded-lg border bg-background p-6 shadow-lg">
          <AlertDialog.Title className="text-lg font-semibold">{title}</AlertDialog.Title>
          <AlertDialog.Description className="text-sm text-muted-foreground">
            {description ?? t("confirm.irreversible")}
          </AlertDialog.Description>
          <div className="flex justify-end gap-2">
            <AlertDialog.Cancel asChild>
              <Button variant="outline">{t("action.cancel")}</Button>
            </AlertDialog.Cancel>
            <Button variant={destructive ? "destructive" : "default"} disabled={busy} onClick={() => void run()} data-testid="confirm">
              {confirmLabel ?? t("action.confirm")}
            </Button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
