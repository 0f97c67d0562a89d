// Opens a ticket on a customer's behalf (e.g. after a phone call).
import * as React from "react";
import { useNavigate } from "react-router";
import { useTranslation } from "react-i18next";
import { Plus } from "lucide-react";
import { Button } from "@rustbill/ui/button";
import { Dialog, DialogContent, DialogTrigger } from "@rustbill/ui/dialog";
import { Input, Select } from "@rustbill/ui/input";
import { DialogActions } from "@/components/dialog";
import { Field, Form, useApiMutation } from "@/components/form";
import { api } from "@/lib/api";
import { CustomerPicker, DescriptionField, PriorityOptions } from "./shared";

export function CreateTicketDialog() {
  const { t } = useTranslation("tickets");
  const navigate = useNavigate();
  const [open, setOpen] = React.useState(false);
  const [customerId, setCustomerId] = React.useState("");
  const [title, setTitle] = React.useState("");
  const [description, setDescription] = React.useState("");
  const [priority, setPriority] = React.useState("medium");
  const create = useApiMutation(() => api.tickets.createTicket({ customerId, title, description, priority }), {
    invalidate: [["tickets"]],
    successMessage: t("create.done"),
    onSuccess: (response) => {
      setOpen(false);
      if (response.ticket) navigate(`/tickets/${response.ticket.id}`);
    },
  });
  const reset = () => {
    setCustomerId("");
    setTitle("");
    setDescription("");
    setPriority("medium");
    create.setErrors({});
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (next) reset();
        setOpen(next);
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus />
          {t("create.open")}
        </Button>
      </DialogTrigger>
      <DialogContent title={t("create.title")} description={t("create.description")}>
        <Form onSubmit={() => create.mutate(undefined)}>
          <Field label={t("field.customer")} htmlFor="ticket-new-customer" error={create.errors.customer_id}>
            <CustomerPicker id="ticket-new-customer" value={customerId} onChange={setCustomerId} invalid={!!create.errors.customer_id} />
          </Field>
          <Field label={t("field.title")} htmlFor="ticket-new-title" error={create.errors.title}>
            <Input
              id="ticket-new-title"
              value={title}
              maxLength={200}
              required
              aria-invalid={!!create.errors.title || undefined}
              onChange={(event) => setTitle(event.target.value)}
            />
          </Field>
          <DescriptionField
            id="ticket-new-description"
            rows={6}
            value={description}
            onChange={setDescription}
            error={create.errors.description}
          />
          <Field label={t("field.priority")} htmlFor="ticket-new-priority" error={create.errors.priority}>
            <Select id="ticket-new-priority" value={priority} onChange={(event) => setPriority(event.target.value)}>
              <PriorityOptions />
            </Select>
          </Field>
          <DialogActions submit={t("create.submit")} onCancel={() => setOpen(false)} disabled={create.isPending} />
        </Form>
      </DialogContent>
    </Dialog>
  );
}
