// /account: the signed-in user's profile and password.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Field, Form, useApiMutation } from "@/components/form";
import { Details, PageHeader, SinglePageArea, TitledCard } from "@/components/page";
import { NewPasswordFields, PasswordInput, useNewPassword } from "@/components/password";
import { Button } from "@rustbill/ui/button";
import { Input } from "@rustbill/ui/input";
import { api } from "@/lib/api";
import { ME_KEY, useMe } from "@/lib/auth";
import { formatDateTime } from "@rustbill/ui/utils";

export default function AccountArea() {
  return <SinglePageArea page={<AccountPage />} />;
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
    <TitledCard title={t("profile.title")} contentClassName="grid gap-4">
      <Details
        items={[
          [t("profile.username"), me.username],
          [t("profile.role"), t(`role.${me.role}`, { defaultValue: me.role })],
          [t("profile.createdAt"), formatDateTime(me.createdAt, i18n.language)],
        ]}
      />
      <Form onSubmit={() => save.mutate()}>
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
      </Form>
    </TitledCard>
  );
}

function PasswordCard() {
  const { t } = useTranslation("account");
  const [oldPassword, setOldPassword] = React.useState("");
  const password = useNewPassword();
  const change = useApiMutation(() => api.identity.changePassword({ oldPassword, newPassword: password.password }), {
    successMessage: t("password.changed"),
    onSuccess: () => {
      setOldPassword("");
      password.clear();
    },
  });
  return (
    <TitledCard title={t("password.title")} description={t("password.description")}>
      <Form
        onSubmit={() => {
          if (password.check()) change.mutate();
        }}
      >
        <Field label={t("password.old")} htmlFor="old-password" error={change.errors.old_password}>
          <PasswordInput
            id="old-password"
            autoComplete="current-password"
            aria-invalid={!!change.errors.old_password}
            value={oldPassword}
            onChange={(event) => setOldPassword(event.target.value)}
          />
        </Field>
        <NewPasswordFields
          state={password}
          ids={{ password: "new-password", confirmation: "confirm-password" }}
          labels={{ password: t("password.new"), confirmation: t("password.confirm"), mismatch: t("password.mismatch") }}
          error={change.errors.new_password}
        />
        <div>
          <Button type="submit" disabled={change.isPending}>
            {t("password.submit")}
          </Button>
        </div>
      </Form>
    </TitledCard>
  );
}
