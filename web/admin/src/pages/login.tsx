import * as React from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQueryClient } from "@tanstack/react-query";
import { Boxes } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Input } from "@rustbill/ui/input";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Field } from "@/components/form";
import { RecoveryCodes, TotpSecret } from "@/components/two-factor";
import type { TotpEnrollment, UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { Code, ConnectError, api, errorMessage, fieldErrors } from "@/lib/api";
import { ME_KEY } from "@/lib/auth";

/** Where the sign-in is: the password, the second factor, or the recovery
 * codes of an enrolment made while signing in. */
type Step =
  | { kind: "password" }
  | { kind: "code"; challenge: string; enrollment?: TotpEnrollment; recovery: boolean }
  | { kind: "codes"; codes: string[]; user?: UserInfo };

export default function LoginPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [params] = useSearchParams();
  const [step, setStep] = React.useState<Step>({ kind: "password" });
  const [username, setUsername] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [code, setCode] = React.useState("");
  const [error, setError] = React.useState("");
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [busy, setBusy] = React.useState(false);

  const enter = (user?: UserInfo) => {
    client.setQueryData(ME_KEY, user ?? null);
    const next = params.get("next");
    navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
  };

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError("");
    setErrors({});
    try {
      await work();
    } catch (failure) {
      setErrors(fieldErrors(failure));
      setError(errorMessage(failure));
      // An expired or used-up challenge: start again from the password.
      if (ConnectError.from(failure).code === Code.Unauthenticated && step.kind === "code") {
        setStep({ kind: "password" });
        setCode("");
      }
    } finally {
      setBusy(false);
    }
  };

  const submitPassword = (event: React.FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const response = await api.identity.login({ username, password, userType: "admin" });
      if (response.totpRequired) {
        setCode("");
        setStep({ kind: "code", challenge: response.totpChallenge, enrollment: response.totpEnrollment, recovery: false });
        return;
      }
      enter(response.user);
    });
  };

  const submitCode = (event: React.FormEvent) => {
    event.preventDefault();
    if (step.kind !== "code") return;
    void run(async () => {
      const response = await api.identity.verifyLoginTotp({
        challenge: step.challenge,
        code: step.recovery ? "" : code,
        recoveryCode: step.recovery ? code : "",
      });
      if (response.recoveryCodes.length > 0) {
        setStep({ kind: "codes", codes: response.recoveryCodes, user: response.user });
        return;
      }
      enter(response.user);
    });
  };

  return (
    <div className="flex min-h-screen items-center justify-center bg-muted/40 p-4">
      <Card className="w-full max-w-sm">
        <CardHeader className="items-center text-center">
          <Boxes className="size-8 text-primary" />
          <CardTitle className="text-xl">
            {step.kind === "password" ? t("login.title") : step.kind === "code" ? t("twoFactor.title") : t("twoFactor.recoveryTitle")}
          </CardTitle>
        </CardHeader>
        <CardContent>
          {step.kind === "password" ? (
            <form className="grid gap-4" onSubmit={submitPassword}>
              <Field label={t("login.username")} htmlFor="username" error={errors.username}>
                <Input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
              </Field>
              <Field label={t("login.password")} htmlFor="password" error={errors.password}>
                <Input
                  id="password"
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              </Field>
              {error ? (
                <p role="alert" className="text-sm text-destructive">
                  {t("login.failed")}: {error}
                </p>
              ) : null}
              <Button type="submit" disabled={busy}>
                {t("login.submit")}
              </Button>
            </form>
          ) : step.kind === "code" ? (
            <form className="grid gap-4" onSubmit={submitCode}>
              {step.enrollment ? (
                <>
                  <p className="text-sm">{t("twoFactor.required")}</p>
                  <TotpSecret enrollment={step.enrollment} />
                </>
              ) : null}
              <Field
                label={step.recovery ? t("twoFactor.recoveryCode") : t("twoFactor.code")}
                htmlFor="totp-code"
                error={errors.code || errors.recovery_code}
              >
                <Input
                  id="totp-code"
                  name="code"
                  autoComplete="one-time-code"
                  inputMode={step.recovery ? "text" : "numeric"}
                  autoFocus
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                  required
                />
              </Field>
              {error ? (
                <p role="alert" className="text-sm text-destructive">
                  {t("login.failed")}: {error}
                </p>
              ) : null}
              <Button type="submit" disabled={busy}>
                {t("twoFactor.verify")}
              </Button>
              {step.enrollment ? null : (
                <button
                  type="button"
                  className="text-sm text-primary underline"
                  onClick={() => {
                    setCode("");
                    setError("");
                    setStep({ ...step, recovery: !step.recovery });
                  }}
                >
                  {step.recovery ? t("twoFactor.useCode") : t("twoFactor.useRecovery")}
                </button>
              )}
            </form>
          ) : (
            <RecoveryCodes codes={step.codes} onDone={() => enter(step.user)} />
          )}
        </CardContent>
      </Card>
    </div>
  );
}
