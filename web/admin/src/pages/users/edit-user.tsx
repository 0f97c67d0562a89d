// Edit a user (UpdateUser): display name, e-mail, role, status, linked customer.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ConfirmButton } from "@/components/confirm";
import { RecordDialog } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { Button } from "@rustbill/ui/button";
import { DialogFooter } from "@rustbill/ui/dialog";
import { Input, Select } from "@rustbill/ui/input";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api } from "@/lib/api";
import { ME_KEY, useIsAdmin, useMe } from "@/lib/auth";
import { useCustomer } from "@/lib/customers";
import { useDebounced } from "@/lib/use-debounced";
import { CheckboxField } from "@/pages/customers/shared";

interface UserValues {
  displayName: string;
  email: string;
  role: string;
  isActive: boolean;
  customerId: string;
}

function userValues(user: UserInfo): UserValues {
  return { displayName: user.displayName, email: user.email, role: user.role, isActive: user.isActive, customerId: user.customerId };
}

export function EditUserDialog({ user, onClose }: { user: UserInfo | null; onClose: () => void }) {
  const { t } = useTranslation("users");
  return (
    <RecordDialog
      record={user}
      onClose={onClose}
      title={(record) => t("edit.title", { name: record.username })}
      description={(record) => t(record.userType === "customer" ? "edit.customerDescription" : "edit.adminDescription")}
    >
      {(record) => <EditUserForm key={record.id} user={record} onDone={onClose} />}
    </RecordDialog>
  );
}

function EditUserForm({ user, onDone }: { user: UserInfo; onDone: () => void }) {
  const { t } = useTranslation("users");
  const me = useMe();
  const isAdmin = useIsAdmin();
  const initial = userValues(user);
  const [values, setValues] = React.useState<UserValues>(initial);
  const update = useApiMutation(
    (changes: Partial<UserValues>) => api.identity.updateUser({ id: user.id, userType: user.userType, ...changes }),
    { invalidate: [["users"], ["customers"], ME_KEY], successMessage: t("updated"), onSuccess: onDone },
  );
  const changes: Partial<UserValues> = {};
  if (values.displayName.trim() !== initial.displayName) changes.displayName = values.displayName.trim();
  if (values.email.trim() !== initial.email) changes.email = values.email.trim();
  if (values.role !== initial.role) changes.role = values.role;
  if (values.isActive !== initial.isActive) changes.isActive = values.isActive;
  if (values.customerId !== initial.customerId) changes.customerId = values.customerId;
  const changed = Object.keys(changes).length > 0;
  // Disabling or moving a user ends their logins: ask first.
  const needsConfirm = changes.isActive === false || changes.customerId !== undefined;
  const self = user.id === me.id;
  const isCustomer = user.userType === "customer";
  const submit = () => (changed ? update.mutate(changes) : onDone());
  const set = <K extends keyof UserValues>(key: K, value: UserValues[K]) => setValues((current) => ({ ...current, [key]: value }));

  return (
    <Form
      onSubmit={() => {
        if (!needsConfirm) submit();
      }}
    >
      <Field label={t("field.displayName")} htmlFor="user-display-name" error={update.errors.display_name}>
        <Input id="user-display-name" maxLength={64} value={values.displayName} onChange={(event) => set("displayName", event.target.value)} />
      </Field>
      <Field label={t("field.email")} htmlFor="user-email" error={update.errors.email}>
        <Input id="user-email" type="email" required={isCustomer} value={values.email} onChange={(event) => set("email", event.target.value)} />
      </Field>
      {isCustomer ? (
        <CustomerPicker value={values.customerId} onChange={(id) => set("customerId", id)} error={update.errors.customer_id} />
      ) : (
        <Field label={t("field.role")} htmlFor="user-role" error={update.errors.role} hint={isAdmin ? t("edit.roleHint") : t("edit.roleAdminOnly")}>
          <Select id="user-role" disabled={!isAdmin} value={values.role} onChange={(event) => set("role", event.target.value)}>
            <option value="admin">{t("role.admin")}</option>
            <option value="operator">{t("role.operator")}</option>
          </Select>
        </Field>
      )}
      <CheckboxField
        id="user-active"
        label={t("field.isActive")}
        hint={self ? t("edit.cannotDisableSelf") : t("edit.activeHint")}
        disabled={self}
        checked={values.isActive}
        onChange={(value) => set("isActive", value)}
      />
      <DialogFooter>
        <Button variant="outline" onClick={onDone}>
          {t("action.cancel", { ns: "common" })}
        </Button>
        {needsConfirm ? (
          <ConfirmButton
            disabled={update.isPending}
            title={t("edit.confirmTitle", { name: user.username })}
            description={t("edit.confirmDescription")}
            confirmLabel={t("action.save", { ns: "common" })}
            onConfirm={submit}
          >
            {t("action.save", { ns: "common" })}
          </ConfirmButton>
        ) : (
          <Button type="submit" disabled={update.isPending}>
            {t("action.save", { ns: "common" })}
          </Button>
        )}
      </DialogFooter>
    </Form>
  );
}

/** Picks the customer a customer user belongs to: search, then choose. */
function CustomerPicker({ value, onChange, error }: { value: string; onChange: (id: string) => void; error?: string }) {
  const { t } = useTranslation("users");
  const [search, setSearch] = React.useState("");
  const term = useDebounced(search.trim());
  const current = useCustomer(value);
  const results = useQuery({
    queryKey: ["customers", "list", 1, 20, { search: term, status: "" }],
    queryFn: () => api.customers.listCustomers({ pagination: { page: 1, pageSize: 20 }, search: term || undefined }),
    placeholderData: keepPreviousData,
  });
  const options = results.data?.customers ?? [];
  const currentMissing = value !== "" && !options.some((customer) => customer.id === value);
  return (
    <div className="grid gap-2 rounded-md border p-3">
      <Field label={t("edit.findCustomer")} htmlFor="user-customer-search">
        <Input id="user-customer-search" type="search" placeholder={t("edit.findCustomerPlaceholder")} value={search} onChange={(event) => setSearch(event.target.value)} />
      </Field>
      <Field label={t("field.customer")} htmlFor="user-customer" error={error} hint={t("edit.customerHint")}>
        <Select id="user-customer" value={value} onChange={(event) => onChange(event.target.value)}>
          {currentMissing ? <option value={value}>{current.data?.name ?? value}</option> : null}
          {options.map((customer) => (
            <option key={customer.id} value={customer.id}>
              {customer.company ? `${customer.name} (${customer.company})` : customer.name}
            </option>
          ))}
        </Select>
      </Field>
    </div>
  );
}
