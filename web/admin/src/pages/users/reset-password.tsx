// AdminResetPassword (admin only): a new password for another user.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Field, useApiMutation } from "@/components/form";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Input } from "@rustbill/ui/input";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api } from "@/lib/api";

export function ResetPasswordDialog({ user, onClose }: { user: UserInfo | null; onClose: () => void }) {
  const { t } = useTranslation("users");
  return (
    <Dialog
      open={user !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
    >
      {user ? (
        <DialogContent title={t("reset.title", { name: user.username })} description={t("reset.description")}>
          <ResetPasswordForm key={user.id} user={user} onDone={onClose} />
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

function ResetPasswordForm({ user, onDone }: { user: UserInfo; onDone: () => void }) {
  const { t } = useTranslation("users");
  const [password, setPassword] = React.useState("");
  const [confirm, setConfirm] = React.useState("");
  const [mismatch, setMismatch] = React.useState(false);
  const reset = useApiMutation((newPassword: string) => api.identity.adminResetPassword({ userId: user.id, newPassword }), {
    invalidate: [["users"]],
    successMessage: t("reset.done", { name: user.username }),
    onSuccess: onDone,
  });
  return (
    <form
      className="grid gap-4"
      onSubmit={(event) => {
        event.preventDefault();
        const differs = password !== confirm;
        setMismatch(differs);
        if (!differs) reset.mutate(password);
      }}
    >
      <Field label={t("reset.newPassword")} htmlFor="reset-new-password" error={reset.errors.new_password}>
        <Input
          id="reset-new-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={!!reset.errors.new_password}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
      </Field>
      <Field label={t("reset.confirmPassword")} htmlFor="reset-confirm-password" error={mismatch ? t("passwordMismatch") : undefined}>
        <Input
          id="reset-confirm-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={mismatch}
          value={confirm}
          onChange={(event) => {
            setConfirm(event.target.value);
            setMismatch(false);
          }}
        />
      </Field>
      <DialogFooter>
        <Button variant="outline" onClick={onDone}>
          {t("action.cancel", { ns: "common" })}
        </Button>
        <Button type="submit" disabled={reset.isPending}>
          {t("reset.submit")}
        </Button>
      </DialogFooter>
    </form>
  );
}
