import * as React from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@rustbill/ui/card";
import { Input } from "@rustbill/ui/input";
import { errorMessage, fieldErrors } from "@/lib/api";
import { useCurrentUser, useLogin } from "@/lib/auth";
import { Field } from "@/pages/catalog/widgets";

/** `?next=` when it is a path inside the portal, else the dashboard. */
function nextPath(params: URLSearchParams): string {
  const next = params.get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard";
}

export default function LoginPage() {
  const { t } = useTranslation("auth");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const me = useCurrentUser();
  const login = useLogin();
  const [username, setUsername] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [pending, setPending] = React.useState(false);
  const [error, setError] = React.useState<unknown>(null);
  const target = nextPath(params);

  if (me.data && !pending) return <Navigate to={target} replace />;

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      await login(username.trim(), password);
      navigate(target, { replace: true });
    } catch (failure) {
      setError(failure);
      setPending(false);
    }
  };
  const errors = error ? fieldErrors(error) : {};

  return (
    <div className="mx-auto w-full max-w-sm py-6">
      <Card>
        <CardHeader>
          <CardTitle className="text-xl">{t("login.title")}</CardTitle>
          <p className="text-sm text-muted-foreground">{t("login.subtitle")}</p>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={(event) => void submit(event)}>
            <Field id="login-username" label={t("login.username")} error={errors.username}>
              <Input id="login-username" autoComplete="username" required value={username} onChange={(event) => setUsername(event.target.value)} />
            </Field>
            <Field id="login-password" label={t("login.password")} error={errors.password}>
              <Input
                id="login-password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(event) => setPassword(event.target.value)}
              />
            </Field>
            {error && Object.keys(errors).length === 0 ? (
              <p role="alert" className="text-sm text-destructive">
                {errorMessage(error)}
              </p>
            ) : null}
            <Button type="submit" disabled={pending}>
              {pending ? t("login.submitting") : t("login.submit")}
            </Button>
            <p className="text-center text-sm text-muted-foreground">
              {t("login.noAccount")}{" "}
              <Link to="/register" className="text-primary hover:underline">
                {t("login.register")}
              </Link>
            </p>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
