// Placeholder until the dashboard/invoices page lands.
export default function InvoicesPage() {
  return <p data-todo="dashboard/invoices">dashboard/invoices</p>;
}
