import * as React from "react";
import { Link, useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input } from "@rustbill/ui/input";
import { api, errorMessage, fieldErrors } from "@/lib/api";
import { useLogin } from "@/lib/auth";
import { Field } from "@/pages/catalog/widgets";

/** Seconds left before another code may be requested, ticking down once a second. */
function useCountdown() {
  const [seconds, setSeconds] = React.useState(0);
  React.useEffect(() => {
    if (seconds <= 0) return;
    const timer = window.setTimeout(() => setSeconds((left) => left - 1), 1000);
    return () => window.clearTimeout(timer);
  }, [seconds]);
  return [seconds, setSeconds] as const;
}

export default function RegisterPage() {
  const { t } = useTranslation("auth");
  const navigate = useNavigate();
  const login = useLogin();
  const [form, setForm] = React.useState({ username: "", email: "", displayName: "", password: "", confirm: "", code: "" });
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [formError, setFormError] = React.useState("");
  const [pending, setPending] = React.useState(false);
  const [sending, setSending] = React.useState(false);
  const [countdown, setCountdown] = useCountdown();

  const set = (key: keyof typeof form) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setForm((current) => ({ ...current, [key]: event.target.value }));

  const sendCode = async () => {
    if (!form.email.trim()) {
      setErrors((current) => ({ ...current, email: t("register.emailFirst") }));
      return;
    }
    setSending(true);
    try {
      const response = await api.identity.sendVerificationCode({ email: form.email.trim(), purpose: "registration" });
      if (response.sent) {
        setErrors(({ email: _email, ...rest }) => rest);
        toast.success(response.message || t("register.codeSent"));
        setCountdown(response.retryAfterSecs > 0 ? response.retryAfterSecs : 60);
      } else {
        setErrors((current) => ({ ...current, verification_code: response.message || t("register.codeNotSent") }));
        if (response.retryAfterSecs > 0) setCountdown(response.retryAfterSecs);
      }
    } catch (failure) {
      const fields = fieldErrors(failure);
      if (Object.keys(fields).length > 0) setErrors((current) => ({ ...current, ...fields }));
      else toast.error(errorMessage(failure));
    } finally {
      setSending(false);
    }
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setFormError("");
    if (form.password !== form.confirm) {
      setErrors({ confirm: t("register.mismatch") });
      return;
    }
    setErrors({});
    setPending(true);
    try {
      await api.identity.register({
        username: form.username.trim(),
        email: form.email.trim(),
        displayName: form.displayName.trim(),
        password: form.password,
        verificationCode: form.code.trim(),
      });
    } catch (failure) {
      const fields = fieldErrors(failure);
      setErrors(fields);
      if (Object.keys(fields).length === 0) setFormError(errorMessage(failure));
      setPending(false);
      return;
    }
    toast.success(t("register.done"));
    try {
      await login(form.username.trim(), form.password);
      navigate("/dashboard", { replace: true });
    } catch {
      navigate("/login?next=%2Fdashboard", { replace: true });
    }
  };

  return (
    <div className="mx-auto w-full max-w-md py-6">
      <Card>
        <CardHeader>
          <CardTitle className="text-xl">{t("register.title")}</CardTitle>
          <p className="text-sm text-muted-foreground">{t("register.subtitle")}</p>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={(event) => void submit(event)}>
            <Field id="register-username" label={t("register.username")} hint={t("register.usernameHint")} error={errors.username}>
              <Input id="register-username" autoComplete="username" required value={form.username} onChange={set("username")} />
            </Field>
            <Field id="register-email" label={t("register.email")} error={errors.email}>
              <Input id="register-email" type="email" autoComplete="email" required value={form.email} onChange={set("email")} />
            </Field>
            <Field id="register-display-name" label={t("register.displayName")} error={errors.display_name}>
              <Input id="register-display-name" autoComplete="name" required value={form.displayName} onChange={set("displayName")} />
            </Field>
            <Field id="register-password" label={t("register.password")} error={errors.password}>
              <Input
                id="register-password"
                type="password"
                autoComplete="new-password"
                required
                value={form.password}
                onChange={set("password")}
              />
            </Field>
            <Field id="register-confirm" label={t("register.confirmPassword")} error={errors.confirm}>
              <Input id="register-confirm" type="password" autoComplete="new-password" required value={form.confirm} onChange={set("confirm")} />
            </Field>
            <Field id="register-code" label={t("register.code")} error={errors.verification_code}>
              <div className="flex gap-2">
                <Input
                  id="register-code"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  maxLength={6}
                  required
                  value={form.code}
                  onChange={set("code")}
                />
                <Button type="button" variant="outline" className="shrink-0" disabled={sending || countdown > 0} onClick={() => void sendCode()}>
                  {countdown > 0 ? t("register.resendIn", { seconds: countdown }) : t("register.sendCode")}
                </Button>
              </div>
            </Field>
            {formError ? (
              <p role="alert" className="text-sm text-destructive">
                {formError}
              </p>
            ) : null}
            <p className="text-xs text-muted-foreground">
              {t("register.agree")}{" "}
              <Link to="/terms" className="text-primary hover:underline">
                {t("register.terms")}
              </Link>{" "}
              {t("register.and")}{" "}
              <Link to="/privacy" className="text-primary hover:underline">
                {t("register.privacy")}
              </Link>
            </p>
            <Button type="submit" disabled={pending}>
              {pending ? t("register.submitting") : t("register.submit")}
            </Button>
            <p className="text-center text-sm text-muted-foreground">
              {t("register.hasAccount")}{" "}
              <Link to="/login" className="text-primary hover:underline">
                {t("register.login")}
              </Link>
            </p>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
