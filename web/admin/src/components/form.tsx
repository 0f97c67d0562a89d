import * as React from "react";
import { useTranslation } from "react-i18next";
import { toast } from "sonner";
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { Label } from "@rustbill/ui/input";
import { cn } from "@rustbill/ui/utils";
import { errorMessage, fieldErrors } from "@/lib/api";

/** A form laid out as a column of fields; `onSubmit` runs instead of the browser's submit. */
export function Form({
  onSubmit,
  className,
  ...props
}: Omit<React.FormHTMLAttributes<HTMLFormElement>, "onSubmit"> & { onSubmit: () => void }) {
  return (
    <form
      className={cn("grid gap-4", className)}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
      {...props}
    />
  );
}

/**
 * One labelled form field. `error` is the server's message for this field
 * (google.rpc.BadRequest field violation), shown next to it.
 */
export function Field({
  label,
  htmlFor,
  error,
  hint,
  children,
}: {
  label: React.ReactNode;
  htmlFor?: string;
  error?: string;
  hint?: React.ReactNode;
  children: React.ReactNode;
}) {
  return (
    <div className="grid gap-1.5">
      <Label htmlFor={htmlFor}>{label}</Label>
      {children}
      {hint && !error ? <p className="text-xs text-muted-foreground">{hint}</p> : null}
      {error ? (
        <p className="text-xs text-destructive" role="alert" data-field-error={htmlFor}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A mutation that shows its failure: field violations are returned in
 * `errors` (for <Field error=...>), anything else becomes a toast. On
 * success the given queries are refetched and `successMessage` is toasted.
 */
export function useApiMutation<TVariables, TResult>(
  mutate: (variables: TVariables) => Promise<TResult>,
  options: {
    invalidate?: QueryKey[];
    successMessage?: string;
    onSuccess?: (result: TResult, variables: TVariables) => void;
  } = {},
) {
  const client = useQueryClient();
  const { t } = useTranslation();
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const mutation = useMutation({
    mutationFn: mutate,
    onMutate: () => setErrors({}),
    onSuccess: async (result, variables) => {
      for (const key of options.invalidate ?? []) {
        await client.invalidateQueries({ queryKey: key });
      }
      toast.success(options.successMessage ?? t("saved"));
      options.onSuccess?.(result, variables);
    },
    onError: (error) => {
      const fields = fieldErrors(error);
      setErrors(fields);
      toast.error(errorMessage(error));
    },
  });
  return { ...mutation, errors, setErrors };
}
