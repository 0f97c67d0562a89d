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
import { useQuery } from "@tanstack/react-query";
import { RecoveryCodes, TotpSecret } from "@/components/two-factor";
import type { TotpEnrollment } from "@/gen/rustbill/identity/identity_pb";

const TOTP_KEY = ["identity", "totp"] as const;

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
      <TwoFactorCard />
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

/** Two-factor authentication: status, turning it on (secret, then a code),
 * new recovery codes, turning it off (unless the server requires it). */
function TwoFactorCard() {
  const { t, i18n } = useTranslation("account");
  const status = useQuery({ queryKey: TOTP_KEY, queryFn: () => api.identity.getTotpStatus({}) });
  const [enrollment, setEnrollment] = React.useState<TotpEnrollment | null>(null);
  const [codes, setCodes] = React.useState<string[]>([]);
  const [code, setCode] = React.useState("");
  const [password, setPassword] = React.useState("");
  const begin = useApiMutation(() => api.identity.beginTotpEnrollment({}), {
    successMessage: t("twoFactor.scanNow"),
    onSuccess: (response) => setEnrollment(response.enrollment ?? null),
  });
  const confirm = useApiMutation(() => api.identity.confirmTotpEnrollment({ code }), {
    invalidate: [TOTP_KEY],
    successMessage: t("twoFactor.enabled"),
    onSuccess: (response) => {
      setEnrollment(null);
      setCode("");
      setCodes(response.recoveryCodes);
    },
  });
  const regenerate = useApiMutation(() => api.identity.regenerateTotpRecoveryCodes({ code }), {
    invalidate: [TOTP_KEY],
    successMessage: t("twoFactor.regenerated"),
    onSuccess: (response) => {
      setCode("");
      setCodes(response.recoveryCodes);
    },
  });
  const disable = useApiMutation(
    () => api.identity.disableTotp({ password, code: /^[0-9 ]+$/.test(code) ? code : "", recoveryCode: /^[0-9 ]+$/.test(code) ? "" : code }),
    {
      invalidate: [TOTP_KEY],
      successMessage: t("twoFactor.disabled"),
      onSuccess: () => {
        setCode("");
        setPassword("");
      },
    },
  );
  const state = status.data;
  if (!state) return null;
  const errors = { ...begin.errors, ...confirm.errors, ...regenerate.errors, ...disable.errors };
  return (
    <TitledCard title={t("twoFactor.title")} description={t("twoFactor.description")} contentClassName="grid gap-4">
      <Details
        items={[
          [t("twoFactor.status"), state.enabled ? t("twoFactor.on") : t("twoFactor.off")],
          ...(state.enabled
            ? ([
                [t("twoFactor.since"), formatDateTime(state.enabledAt, i18n.language)],
                [t("twoFactor.codesLeft"), String(state.recoveryCodesLeft)],
              ] as [string, string][])
            : []),
          ...(state.required ? ([[t("twoFactor.policy"), t("twoFactor.requiredByServer")]] as [string, string][]) : []),
        ]}
      />
      {codes.length > 0 ? (
        <RecoveryCodes codes={codes} onDone={() => setCodes([])} />
      ) : !state.enabled ? (
        enrollment ? (
          <Form onSubmit={() => confirm.mutate()}>
            <TotpSecret enrollment={enrollment} />
            <Field label={t("twoFactor.code")} htmlFor="totp-confirm-code" error={errors.code}>
              <Input id="totp-confirm-code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(event) => setCode(event.target.value)} />
            </Field>
            <div>
              <Button type="submit" disabled={confirm.isPending || code.trim() === ""}>
                {t("twoFactor.confirm")}
              </Button>
            </div>
          </Form>
        ) : (
          <div>
            <Button type="button" onClick={() => begin.mutate()} disabled={begin.isPending}>
              {t("twoFactor.enable")}
            </Button>
          </div>
        )
      ) : (
        <Form onSubmit={() => regenerate.mutate()}>
          <Field label={t("twoFactor.codeOrRecovery")} htmlFor="totp-manage-code" error={errors.code || errors.recovery_code}>
            <Input id="totp-manage-code" autoComplete="one-time-code" value={code} onChange={(event) => setCode(event.target.value)} />
          </Field>
          <Field label={t("twoFactor.password")} htmlFor="totp-manage-password" error={errors.password}>
            <PasswordInput
              id="totp-manage-password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              disabled={state.required}
            />
          </Field>
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant="outline" disabled={regenerate.isPending || code.trim() === ""}>
              {t("twoFactor.regenerate")}
            </Button>
            <Button
              type="button"
              variant="destructive"
              disabled={state.required || disable.isPending || code.trim() === "" || password === ""}
              title={state.required ? t("twoFactor.requiredByServer") : undefined}
              onClick={() => disable.mutate()}
            >
              {t("twoFactor.disable")}
            </Button>
          </div>
          {state.required ? <p className="text-sm text-muted-foreground">{t("twoFactor.cannotDisable")}</p> : null}
        </Form>
      )}
    </TitledCard>
  );
}
