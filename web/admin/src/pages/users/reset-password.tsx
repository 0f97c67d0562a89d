// AdminResetPassword (admin only): a new password for another user.
import { useTranslation } from "react-i18next";
import { DialogActions, RecordDialog } from "@/components/dialog";
import { Form, useApiMutation } from "@/components/form";
import { NewPasswordFields, useNewPassword } from "@/components/password";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api } from "@/lib/api";

export function ResetPasswordDialog({ user, onClose }: { user: UserInfo | null; onClose: () => void }) {
  const { t } = useTranslation("users");
  return (
    <RecordDialog
      record={user}
      onClose={onClose}
      title={(record) => t("reset.title", { name: record.username })}
      description={() => t("reset.description")}
    >
      {(record) => <ResetPasswordForm key={record.id} user={record} onDone={onClose} />}
    </RecordDialog>
  );
}

function ResetPasswordForm({ user, onDone }: { user: UserInfo; onDone: () => void }) {
  const { t } = useTranslation("users");
  const password = useNewPassword();
  const reset = useApiMutation((newPassword: string) => api.identity.adminResetPassword({ userId: user.id, newPassword }), {
    invalidate: [["users"]],
    successMessage: t("reset.done", { name: user.username }),
    onSuccess: onDone,
  });
  return (
    <Form
      onSubmit={() => {
        if (password.check()) reset.mutate(password.password);
      }}
    >
      <NewPasswordFields
        state={password}
        ids={{ password: "reset-new-password", confirmation: "reset-confirm-password" }}
        labels={{ password: t("reset.newPassword"), confirmation: t("reset.confirmPassword"), mismatch: t("passwordMismatch") }}
        error={reset.errors.new_password}
      />
      <DialogActions submit={t("reset.submit")} onCancel={onDone} disabled={reset.isPending} />
    </Form>
  );
}
