// /users: admin users (admins and operators) and customer users.
import * as React from "react";
import { Link } from "react-router";
import { useTranslation } from "react-i18next";
import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { Plus, X } from "lucide-react";
import { ConfirmButton } from "@/components/confirm";
import { DataTable, timeColumn, type Column } from "@/components/data-table";
import { FilterBar, FilterSelect, SearchBox } from "@/components/filters";
import { PageHeader, StatusBadge } from "@/components/page";
import { ShortId } from "@/components/refs";
import { Button } from "@rustbill/ui/button";
import { Badge } from "@rustbill/ui/card";
import { Tabs, TabsList, TabsTrigger } from "@rustbill/ui/tabs";
import type { UserInfo } from "@/gen/rustbill/identity/identity_pb";
import { api } from "@/lib/api";
import { useIsAdmin, useMe } from "@/lib/auth";
import { customerQuery } from "@/lib/customers";
import { useListQuery, useListState } from "@/lib/list";
import { CreateUserDialog } from "./create-user";
import { EditUserDialog } from "./edit-user";
import { ResetPasswordDialog } from "./reset-password";

const FILTERS = ["type", "search", "status", "role", "customer"] as const;
type UserType = "admin" | "customer";

export default function UsersPage() {
  const { t } = useTranslation("users");
  const me = useMe();
  const isAdmin = useIsAdmin();
  const client = useQueryClient();
  const list = useListState(FILTERS);
  const { search, status, role, customer } = list.filters;
  const type: UserType = list.filters.type === "customer" ? "customer" : "admin";
  const [editing, setEditing] = React.useState<UserInfo | null>(null);
  const [resetting, setResetting] = React.useState<UserInfo | null>(null);
  const [creating, setCreating] = React.useState(false);

  const query = useListQuery(["users"], list, (pagination) =>
    api.identity.listUsers({
      pagination,
      userType: type,
      search: search || undefined,
      isActive: status === "active" ? true : status === "disabled" ? false : undefined,
      role: type === "admin" && role ? role : undefined,
      customerId: type === "customer" && customer ? customer : undefined,
    }),
  );

  // Names of the customers linked to the customer users on this page.
  const customerIds = type === "customer" ? [...new Set((query.data?.users ?? []).map((user) => user.customerId).filter(Boolean))] : [];
  const customers = useQueries({ queries: customerIds.map((id) => ({ ...customerQuery(id), staleTime: 60_000 })) });
  const customerNames = new Map(customers.flatMap((result) => (result.data ? [[result.data.id, result.data.name] as const] : [])));
  const filterCustomer = useQuery({ ...customerQuery(customer), staleTime: 60_000, enabled: type === "customer" && customer !== "" });

  const deleteUser = async (user: UserInfo) => {
    await api.identity.deleteUser({ id: user.id });
    toast.success(t("deleted"));
    await client.invalidateQueries({ queryKey: ["users"] });
  };
  // Operators may edit themselves and other operators, not admins.
  const canEdit = (user: UserInfo) => isAdmin || user.userType === "customer" || user.role !== "admin" || user.id === me.id;

  const columns: Column<UserInfo>[] = [
    {
      key: "username",
      header: t("field.username"),
      cell: (user) => (
        <span className="font-medium">
          {user.username}
          {user.id === me.id ? <span className="ml-1 text-xs text-muted-foreground">({t("you")})</span> : null}
        </span>
      ),
    },
    { key: "displayName", header: t("field.displayName"), cell: (user) => user.displayName || "—" },
    { key: "email", header: t("field.email"), cell: (user) => user.email || "—" },
    type === "admin"
      ? {
          key: "role",
          header: t("field.role"),
          cell: (user) => <Badge tone={user.role === "admin" ? "blue" : "neutral"}>{t(`role.${user.role}`, { defaultValue: user.role })}</Badge>,
        }
      : {
          key: "customer",
          header: t("field.customer"),
          cell: (user) =>
            user.customerId ? (
              <Link className="text-primary hover:underline" to={`/customers/${user.customerId}`}>
                {customerNames.get(user.customerId) ?? <ShortId id={user.customerId} />}
              </Link>
            ) : (
              "—"
            ),
        },
    { key: "status", header: t("field.status"), cell: (user) => <StatusBadge status={user.isActive ? "active" : "disabled"} /> },
    timeColumn("created", t("field.createdAt"), (user) => user.createdAt),
    {
      key: "actions",
      header: <span className="sr-only">{t("actions")}</span>,
      className: "text-right",
      cell: (user) => (
        <div className="flex justify-end gap-1.5">
          <Button
            size="sm"
            variant="outline"
            disabled={!canEdit(user)}
            title={canEdit(user) ? undefined : t("operatorCannotEditAdmin")}
            onClick={() => setEditing(user)}
          >
            {t("action.edit", { ns: "common" })}
          </Button>
          {isAdmin && user.id !== me.id ? (
            <>
              <Button size="sm" variant="outline" onClick={() => setResetting(user)}>
                {t("reset.button")}
              </Button>
              {user.userType === "admin" ? (
                <ConfirmButton
                  size="sm"
                  variant="outline"
                  title={t("resetTotp.title", { name: user.username })}
                  description={t("resetTotp.description")}
                  confirmLabel={t("resetTotp.button")}
                  onConfirm={async () => {
                    await api.identity.adminResetTotp({ userId: user.id });
                    toast.success(t("resetTotp.done"));
                  }}
                >
                  {t("resetTotp.button")}
                </ConfirmButton>
              ) : null}
              <ConfirmButton
                size="sm"
                title={t("deleteTitle", { name: user.username })}
                description={t(user.userType === "customer" ? "deleteCustomerUserDescription" : "deleteDescription")}
                confirmLabel={t("action.delete", { ns: "common" })}
                onConfirm={() => deleteUser(user)}
              >
                {t("action.delete", { ns: "common" })}
              </ConfirmButton>
            </>
          ) : null}
        </div>
      ),
    },
  ];

  return (
    <div>
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          isAdmin && type === "admin" ? (
            <Button onClick={() => setCreating(true)}>
              <Plus />
              {t("create.button")}
            </Button>
          ) : null
        }
      />
      <Tabs
        value={type}
        onValueChange={(value) => list.setFilters({ type: value === "customer" ? "customer" : "", role: "", customer: "" })}
        className="mb-4"
      >
        <TabsList>
          <TabsTrigger value="admin">{t("tabs.admin")}</TabsTrigger>
          <TabsTrigger value="customer">{t("tabs.customer")}</TabsTrigger>
        </TabsList>
      </Tabs>
      <FilterBar
        className="mb-4"
        onReset={search || status || role ? () => list.setFilters({ search: "", status: "", role: "" }) : undefined}
      >
        <SearchBox
          id="user-search"
          label={t("filter.search")}
          placeholder={t("filter.searchPlaceholder")}
          value={search}
          onSearch={(value) => list.setFilter("search", value)}
        />
        <FilterSelect
          id="user-status-filter"
          className="w-36"
          label={t("filter.status")}
          value={status}
          onChange={(value) => list.setFilter("status", value)}
          options={[
            ["active", t("filter.active")],
            ["disabled", t("filter.disabled")],
          ]}
        />
        {type === "admin" ? (
          <FilterSelect
            id="user-role-filter"
            className="w-36"
            label={t("filter.role")}
            value={role}
            onChange={(value) => list.setFilter("role", value)}
            options={[
              ["admin", t("role.admin")],
              ["operator", t("role.operator")],
            ]}
          />
        ) : null}
        {type === "customer" && customer ? (
          <div className="flex h-9 items-center gap-1 rounded-md border bg-muted px-3 text-sm">
            {t("filter.customer")}:{" "}
            <Link className="text-primary hover:underline" to={`/customers/${customer}`}>
              {filterCustomer.data?.name ?? <ShortId id={customer} />}
            </Link>
            <Button variant="ghost" size="icon" className="size-6" aria-label={t("filter.clearCustomer")} onClick={() => list.setFilter("customer", "")}>
              <X />
            </Button>
          </div>
        ) : null}
      </FilterBar>
      <DataTable
        columns={columns}
        rows={query.data?.users}
        rowKey={(user) => user.id}
        meta={query.data?.meta}
        loading={query.isPending}
        error={query.error}
        paging={list}
      />
      <CreateUserDialog open={creating} onClose={() => setCreating(false)} />
      <EditUserDialog user={editing} onClose={() => setEditing(null)} />
      <ResetPasswordDialog user={resetting} onClose={() => setResetting(null)} />
    </div>
  );
}
