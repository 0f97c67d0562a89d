// Placeholder until the invoices pages land.
export default function InvoicesArea() {
  return <p data-todo="invoices">invoices</p>;
}
