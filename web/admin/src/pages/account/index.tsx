// /account: the signed-in user's profile and password.
import * as React from "react";
import { Route, Routes } from "react-router";
import { useTranslation } from "react-i18next";
import { Field, useApiMutation } from "@/components/form";
import { Details, PageHeader } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { ME_KEY, useMe } from "@/lib/auth";
import { formatDateTime } from "@rustbill/ui/utils";

export default function AccountArea() {
  return (
    <Routes>
      <Route index element={<AccountPage />} />
    </Routes>
  );
}

function AccountPage() {
  const { t } = useTranslation("account");
  return (
    <div className="grid max-w-2xl gap-4">
      <PageHeader title={t("title")} description={t("description")} />
      <ProfileCard />
      <PasswordCard />
    </div>
  );
}

function ProfileCard() {
  const { t, i18n } = useTranslation("account");
  const me = useMe();
  const [displayName, setDisplayName] = React.useState(me.displayName);
  const [email, setEmail] = React.useState(me.email);
  const save = useApiMutation(
    () => api.identity.updateUser({ id: me.id, userType: me.userType, displayName: displayName.trim(), email: email.trim() }),
    { invalidate: [ME_KEY, ["users"]], successMessage: t("profile.saved") },
  );
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("profile.title")}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">
        <Details
          items={[
            [t("profile.username"), me.username],
            [t("profile.role"), t(`role.${me.role}`, { defaultValue: me.role })],
            [t("profile.createdAt"), formatDateTime(me.createdAt, i18n.language)],
          ]}
        />
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate();
          }}
        >
          <Field label={t("profile.displayName")} htmlFor="account-display-name" error={save.errors.display_name}>
            <Input id="account-display-name" maxLength={64} value={displayName} onChange={(event) => setDisplayName(event.target.value)} />
          </Field>
          <Field label={t("profile.email")} htmlFor="account-email" error={save.errors.email}>
            <Input id="account-email" type="email" value={email} onChange={(event) => setEmail(event.target.value)} />
          </Field>
          <div>
            <Button type="submit" disabled={save.isPending || (displayName.trim() === me.displayName && email.trim() === me.email)}>
              {t("profile.save")}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

function PasswordCard() {
  const { t } = useTranslation("account");
  const [oldPassword, setOldPassword] = React.useState("");
  const [newPassword, setNewPassword] = React.useState("");
  const [confirm, setConfirm] = React.useState("");
  const [mismatch, setMismatch] = React.useState(false);
  const change = useApiMutation(() => api.identity.changePassword({ oldPassword, newPassword }), {
    successMessage: t("password.changed"),
    onSuccess: () => {
      setOldPassword("");
      setNewPassword("");
      setConfirm("");
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t("password.title")}</CardTitle>
        <p className="text-sm text-muted-foreground">{t("password.description")}</p>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            const differs = newPassword !== confirm;
            setMismatch(differs);
            if (!differs) change.mutate();
          }}
        >
          <Field label={t("password.old")} htmlFor="old-password" error={change.errors.old_password}>
            <Input
              id="old-password"
              type="password"
              autoComplete="current-password"
              required
              aria-invalid={!!change.errors.old_password}
              value={oldPassword}
              onChange={(event) => setOldPassword(event.target.value)}
            />
          </Field>
          <Field label={t("password.new")} htmlFor="new-password" error={change.errors.new_password}>
            <Input
              id="new-password"
              type="password"
              autoComplete="new-password"
              required
              aria-invalid={!!change.errors.new_password}
              value={newPassword}
              onChange={(event) => setNewPassword(event.target.value)}
            />
          </Field>
          <Field label={t("password.confirm")} htmlFor="confirm-password" error={mismatch ? t("password.mismatch") : undefined}>
            <Input
              id="confirm-password"
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
          <div>
            <Button type="submit" disabled={change.isPending}>
              {t("password.submit")}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
