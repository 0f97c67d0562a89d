// A new password typed twice: the two inputs and the check that they match
// (account page, reset and create-user dialogs).
import * as React from "react";
import { Input } from "@rustbill/ui/input";
import { Field } from "@/components/form";

/** A password input: required, filled by password managers as `autoComplete` says. */
export function PasswordInput({
  autoComplete = "new-password",
  ...props
}: Omit<React.InputHTMLAttributes<HTMLInputElement>, "type">) {
  return <Input type="password" required autoComplete={autoComplete} {...props} />;
}

/** The state of a new password and its confirmation. */
export function useNewPassword() {
  const [password, setPassword] = React.useState("");
  const [confirmation, setConfirmation] = React.useState("");
  const [mismatch, setMismatch] = React.useState(false);
  return {
    password,
    setPassword,
    confirmation,
    setConfirmation: (value: string) => {
      setConfirmation(value);
      setMismatch(false);
    },
    mismatch,
    /** On submit: true when both entries match, else the confirmation is marked wrong. */
    check: () => {
      const matches = password === confirmation;
      setMismatch(!matches);
      return matches;
    },
    clear: () => {
      setPassword("");
      setConfirmation("");
      setMismatch(false);
    },
  };
}

/** The new-password and confirmation fields; `error` is the server's message for the password. */
export function NewPasswordFields({
  state,
  ids,
  labels,
  error,
}: {
  state: ReturnType<typeof useNewPassword>;
  ids: { password: string; confirmation: string };
  labels: { password: React.ReactNode; confirmation: React.ReactNode; mismatch: string };
  error?: string;
}) {
  return (
    <>
      <Field label={labels.password} htmlFor={ids.password} error={error}>
        <PasswordInput
          id={ids.password}
          aria-invalid={!!error}
          value={state.password}
          onChange={(event) => state.setPassword(event.target.value)}
        />
      </Field>
      <Field label={labels.confirmation} htmlFor={ids.confirmation} error={state.mismatch ? labels.mismatch : undefined}>
        <PasswordInput
          id={ids.confirmation}
          aria-invalid={state.mismatch}
          value={state.confirmation}
          onChange={(event) => state.setConfirmation(event.target.value)}
        />
      </Field>
    </>
  );
}
