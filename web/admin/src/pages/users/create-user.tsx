// CreateAdminUser (admin only): a new admin or operator account.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { DialogActions, FormDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { NewPasswordFields, useNewPassword } from "@/components/password";
import { Input, Select } from "@rustbill/ui/input";
import { api } from "@/lib/api";

interface NewUserValues {
  username: string;
  displayName: string;
  email: string;
  role: string;
}

const EMPTY: NewUserValues = { username: "", displayName: "", email: "", role: "operator" };

export function CreateUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation("users");
  return (
    <FormDialog
      open={open}
      onOpenChange={(next) => {
        if (!next) onClose();
      }}
      title={t("create.title")}
      description={t("create.description")}
    >
      <CreateUserForm onDone={onClose} />
    </FormDialog>
  );
}

function CreateUserForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation("users");
  const [values, setValues] = React.useState<NewUserValues>(EMPTY);
  const password = useNewPassword();
  const create = useApiMutation((request: NewUserValues & { password: string }) => api.identity.createAdminUser(request), {
    invalidate: [["users"]],
    successMessage: t("create.done", { name: values.username.trim() }),
    onSuccess: onDone,
  });
  const set = <K extends keyof NewUserValues>(key: K, value: NewUserValues[K]) => setValues((current) => ({ ...current, [key]: value }));

  return (
    <Form
      onSubmit={() => {
        if (password.check()) {
          create.mutate({
            username: values.username.trim(),
            displayName: values.displayName.trim(),
            email: values.email.trim(),
            role: values.role,
            password: password.password,
          });
        }
      }}
    >
      <Field label={t("field.username")} htmlFor="new-user-username" error={create.errors.username} hint={t("create.usernameHint")}>
        <Input
          id="new-user-username"
          autoComplete="off"
          required
          minLength={3}
          maxLength={32}
          aria-invalid={!!create.errors.username}
          value={values.username}
          onChange={(event) => set("username", event.target.value)}
        />
      </Field>
      <Field label={t("field.displayName")} htmlFor="new-user-display-name" error={create.errors.display_name}>
        <Input
          id="new-user-display-name"
          maxLength={64}
          aria-invalid={!!create.errors.display_name}
          value={values.displayName}
          onChange={(event) => set("displayName", event.target.value)}
        />
      </Field>
      <Field label={t("field.email")} htmlFor="new-user-email" error={create.errors.email} hint={t("create.emailHint")}>
        <Input
          id="new-user-email"
          type="email"
          aria-invalid={!!create.errors.email}
          value={values.email}
          onChange={(event) => set("email", event.target.value)}
        />
      </Field>
      <Field label={t("field.role")} htmlFor="new-user-role" error={create.errors.role} hint={t("edit.roleHint")}>
        <Select id="new-user-role" aria-invalid={!!create.errors.role} value={values.role} onChange={(event) => set("role", event.target.value)}>
          <option value="operator">{t("role.operator")}</option>
          <option value="admin">{t("role.admin")}</option>
        </Select>
      </Field>
      <NewPasswordFields
        state={password}
        ids={{ password: "new-user-password", confirmation: "new-user-confirm-password" }}
        labels={{ password: t("create.password"), confirmation: t("create.confirmPassword"), mismatch: t("passwordMismatch") }}
        error={create.errors.password}
      />
      <DialogActions submit={t("create.submit")} onCancel={onDone} disabled={create.isPending} />
    </Form>
  );
}
