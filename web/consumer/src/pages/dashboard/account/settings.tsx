// Account settings: the profile as the server knows it, and a password
// change (the server signs the other devices out; this session stays).
import * as React from "react";
import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input } from "@rustbill/ui/input";
import { formatDateTime } from "@rustbill/ui/utils";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { useCurrentUser } from "@/lib/auth";
import { Field } from "@/pages/catalog/widgets";
import { Detail } from "../orders/parts";

/** The server's default `[identity].password_min_length`; it has the last word. */
const MIN_LENGTH = 8;

export default function SettingsPage() {
  const { t, i18n } = useTranslation("account");
  const me = useCurrentUser();
  const user = me.data;
  return (
    <div className="grid max-w-3xl gap-4">
      <h1 className="text-2xl font-semibold">{t("settings.title")}</h1>
      <Card>
        <CardHeader>
          <CardTitle>{t("settings.profile")}</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-3 sm:grid-cols-2">
            <Detail label={t("settings.username")}>{user?.username}</Detail>
            <Detail label={t("settings.email")}>{user?.email}</Detail>
            <Detail label={t("settings.displayName")}>{user?.displayName}</Detail>
            <Detail label={t("settings.created")}>{user ? formatDateTime(user.createdAt, i18n.language) : ""}</Detail>
            <Detail label={t("settings.customer")}>
              <span className="font-mono text-xs">{user?.customerId}</span>
            </Detail>
          </dl>
        </CardContent>
      </Card>
      <PasswordCard />
    </div>
  );
}

const EMPTY = { current: "", next: "", confirm: "" };

function PasswordCard() {
  const { t } = useTranslation("account");
  const [form, setForm] = React.useState(EMPTY);
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const change = useMutation({
    mutationFn: () => api.identity.changePassword({ oldPassword: form.current, newPassword: form.next }),
    onSuccess: () => {
      setForm(EMPTY);
      setErrors({});
      toast.success(t("settings.changed"));
    },
    onError: (error) => {
      const fields = fieldErrors(error);
      const mapped: Record<string, string> = {};
      if (fields.old_password) mapped.current = fields.old_password;
      if (fields.new_password) mapped.next = fields.new_password;
      setErrors(mapped);
      if (Object.keys(mapped).length === 0) toast.error(errorMessage(error));
    },
  });
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (!form.current) problems.current = t("settings.required");
    if (form.next.length < MIN_LENGTH) problems.next = t("settings.tooShort", { count: MIN_LENGTH });
    else if (form.next === form.current) problems.next = t("settings.same");
    if (form.confirm !== form.next) problems.confirm = t("settings.mismatch");
    setErrors(problems);
    if (Object.keys(problems).length === 0) change.mutate();
  };
  const set = (name: keyof typeof EMPTY) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setForm((current) => ({ ...current, [name]: event.target.value }));
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("settings.password")}</CardTitle>
        <p className="text-sm text-muted-foreground">{t("settings.passwordHint")}</p>
      </CardHeader>
      <CardContent>
        <form className="grid max-w-sm gap-4" noValidate onSubmit={submit}>
          <Field id="password-current" label={t("settings.current")} error={errors.current}>
            <Input id="password-current" type="password" autoComplete="current-password" value={form.current} onChange={set("current")} />
          </Field>
          <Field id="password-next" label={t("settings.next")} error={errors.next}>
            <Input id="password-next" type="password" autoComplete="new-password" value={form.next} onChange={set("next")} />
          </Field>
          <Field id="password-confirm" label={t("settings.confirm")} error={errors.confirm}>
            <Input id="password-confirm" type="password" autoComplete="new-password" value={form.confirm} onChange={set("confirm")} />
          </Field>
          <div>
            <Button type="submit" disabled={change.isPending}>
              {t("settings.submit")}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
