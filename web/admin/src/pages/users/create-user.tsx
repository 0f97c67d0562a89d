// CreateAdminUser (admin only): a new admin or operator account.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Field, useApiMutation } from "@/components/form";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent, DialogFooter } from "@rustbill/ui/dialog";
import { Input, Select } from "@rustbill/ui/input";
import { api } from "@/lib/api";

interface NewUserValues {
  username: string;
  displayName: string;
  email: string;
  role: string;
  password: string;
}

const EMPTY: NewUserValues = { username: "", displayName: "", email: "", role: "operator", password: "" };

export function CreateUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation("users");
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (!next) onClose();
      }}
    >
      {open ? (
        <DialogContent title={t("create.title")} description={t("create.description")}>
          <CreateUserForm onDone={onClose} />
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

function CreateUserForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation("users");
  const [values, setValues] = React.useState<NewUserValues>(EMPTY);
  const [confirm, setConfirm] = React.useState("");
  const [mismatch, setMismatch] = React.useState(false);
  const create = useApiMutation((request: NewUserValues) => api.identity.createAdminUser(request), {
    invalidate: [["users"]],
    successMessage: t("create.done", { name: values.username.trim() }),
    onSuccess: onDone,
  });
  const set = <K extends keyof NewUserValues>(key: K, value: NewUserValues[K]) => setValues((current) => ({ ...current, [key]: value }));

  return (
    <form
      className="grid gap-4"
      onSubmit={(event) => {
        event.preventDefault();
        const differs = values.password !== confirm;
        setMismatch(differs);
        if (!differs) {
          create.mutate({ ...values, username: values.username.trim(), displayName: values.displayName.trim(), email: values.email.trim() });
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
      <Field label={t("create.password")} htmlFor="new-user-password" error={create.errors.password}>
        <Input
          id="new-user-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={!!create.errors.password}
          value={values.password}
          onChange={(event) => set("password", event.target.value)}
        />
      </Field>
      <Field label={t("create.confirmPassword")} htmlFor="new-user-confirm-password" error={mismatch ? t("passwordMismatch") : undefined}>
        <Input
          id="new-user-confirm-password"
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
        <Button type="submit" disabled={create.isPending}>
          {t("create.submit")}
        </Button>
      </DialogFooter>
    </form>
  );
}
