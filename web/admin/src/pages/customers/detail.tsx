// /customers/:id: profile, balance, related records and API access.
import * as React from "react";
import { useNavigate, useParams } from "react-router";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { Pencil } from "lucide-react";
import { ConfirmButton } from "@/components/confirm";
import { DialogActions } from "@/components/dialog";
import { Form, useApiMutation } from "@/components/form";
import { BackLink, Details, Loading, PageHeader, QueryError, StatusBadge, TitledCard } from "@/components/page";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent } from "@rustbill/ui/dialog";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@rustbill/ui/tabs";
import type { CustomerInfo } from "@/gen/rustbill/customer/customer_pb";
import { api } from "@/lib/api";
import { customerQuery } from "@/lib/customers";
import { formatDateTime, formatMoney } from "@rustbill/ui/utils";
import { ApiKeysTab } from "./api-keys";
import { BalanceCard, LedgerTab } from "./balance";
import { changedFields, CustomerFields, customerValues, type CustomerValues } from "./customer-form";
import { InstancesTab, InvoicesTab, OrdersTab, TicketsTab, UsersTab } from "./related";
import { useSearchParam } from "./shared";

const TABS = ["ledger", "orders", "instances", "invoices", "tickets", "users", "apiKeys"] as const;

export default function CustomerDetailPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation("customers");
  const query = useQuery(customerQuery(id));
  const back = <BackLink to="/customers">{t("backToList")}</BackLink>;
  if (query.error) {
    return (
      <div className="grid gap-3">
        {back}
        <QueryError error={query.error} />
      </div>
    );
  }
  if (!query.data) return <Loading />;
  return (
    <div className="grid gap-4">
      {back}
      <CustomerView customer={query.data} />
    </div>
  );
}

function CustomerView({ customer }: { customer: CustomerInfo }) {
  const { t, i18n } = useTranslation("customers");
  const [selected, setTab] = useSearchParam("tab", "ledger");
  const tab = (TABS as readonly string[]).includes(selected) ? selected : "ledger";
  return (
    <>
      <PageHeader
        title={customer.name}
        badge={<StatusBadge status={customer.isActive ? "active" : "inactive"} />}
        description={customer.company || undefined}
        actions={<CustomerActions customer={customer} />}
      />
      <div className="grid gap-4 lg:grid-cols-3">
        <TitledCard title={t("profile")} className="lg:col-span-2">
          <Details
            items={[
              [t("field.id"), <span className="font-mono text-xs">{customer.id}</span>],
              [t("field.contactPerson"), customer.contactPerson],
              [t("field.email"), customer.email ? <a className="text-primary hover:underline" href={`mailto:${customer.email}`}>{customer.email}</a> : ""],
              [t("field.phone"), customer.phone],
              [t("field.company"), customer.company],
              [t("field.creditLimit"), <span className="font-mono">{formatMoney(customer.creditLimit)}</span>],
              [t("field.apiAccess"), customer.canCreateApiKeys ? t("apiAllowed") : t("apiNotAllowed")],
              [t("field.createdAt"), formatDateTime(customer.createdAt, i18n.language)],
              [t("field.updatedAt"), formatDateTime(customer.updatedAt, i18n.language)],
              [t("field.notes"), customer.notes ? <span className="whitespace-pre-wrap break-normal">{customer.notes}</span> : ""],
            ]}
          />
        </TitledCard>
        <BalanceCard customer={customer} />
      </div>
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList className="h-auto flex-wrap">
          {TABS.map((value) => (
            <TabsTrigger key={value} value={value}>
              {t(`tabs.${value}`)}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="ledger">
          <LedgerTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="orders">
          <OrdersTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="instances">
          <InstancesTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="invoices">
          <InvoicesTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="tickets">
          <TicketsTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="users">
          <UsersTab customerId={customer.id} />
        </TabsContent>
        <TabsContent value="apiKeys">
          <ApiKeysTab customer={customer} />
        </TabsContent>
      </Tabs>
    </>
  );
}

/** Edit, enable/disable and delete. */
function CustomerActions({ customer }: { customer: CustomerInfo }) {
  const { t } = useTranslation("customers");
  const navigate = useNavigate();
  const client = useQueryClient();
  const setActive = async (isActive: boolean) => {
    await api.customers.updateCustomer({ id: customer.id, isActive });
    toast.success(t(isActive ? "enabled" : "disabled"));
    await client.invalidateQueries({ queryKey: ["customers"] });
  };
  return (
    <>
      <EditCustomerDialog customer={customer} />
      {customer.isActive ? (
        <ConfirmButton
          variant="outline"
          title={t("disableTitle", { name: customer.name })}
          description={t("disableDescription")}
          confirmLabel={t("disable")}
          onConfirm={() => setActive(false)}
        >
          {t("disable")}
        </ConfirmButton>
      ) : (
        <ConfirmButton
          variant="outline"
          destructive={false}
          title={t("enableTitle", { name: customer.name })}
          description={t("enableDescription")}
          confirmLabel={t("enable")}
          onConfirm={() => setActive(true)}
        >
          {t("enable")}
        </ConfirmButton>
      )}
      <ConfirmButton
        title={t("deleteTitle", { name: customer.name })}
        description={t("deleteDescription")}
        confirmLabel={t("action.delete", { ns: "common" })}
        onConfirm={async () => {
          await api.customers.deleteCustomer({ id: customer.id });
          toast.success(t("deleted"));
          client.removeQueries({ queryKey: ["customers", "detail", customer.id] });
          await client.invalidateQueries({ queryKey: ["customers", "list"] });
          navigate("/customers");
        }}
      >
        {t("action.delete", { ns: "common" })}
      </ConfirmButton>
    </>
  );
}

function EditCustomerDialog({ customer }: { customer: CustomerInfo }) {
  const { t } = useTranslation("customers");
  const [open, setOpen] = React.useState(false);
  const [values, setValues] = React.useState<CustomerValues>(() => customerValues(customer));
  const update = useApiMutation((changes: Partial<CustomerValues>) => api.customers.updateCustomer({ id: customer.id, ...changes }), {
    invalidate: [["customers"]],
    successMessage: t("updated"),
    onSuccess: () => setOpen(false),
  });
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button
        variant="outline"
        onClick={() => {
          setValues(customerValues(customer));
          update.setErrors({});
          setOpen(true);
        }}
      >
        <Pencil />
        {t("action.edit", { ns: "common" })}
      </Button>
      <DialogContent title={t("editTitle")} className="max-w-2xl">
        <Form
          onSubmit={() => {
            const changes = changedFields(customerValues(customer), values);
            if (Object.keys(changes).length === 0) setOpen(false);
            else update.mutate(changes);
          }}
        >
          <CustomerFields values={values} onChange={setValues} errors={update.errors} />
          <DialogActions submit={t("action.save", { ns: "common" })} onCancel={() => setOpen(false)} disabled={update.isPending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
