// Placeholder until the dashboard/tickets page lands.
export default function TicketsPage() {
  return <p data-todo="dashboard/tickets">dashboard/tickets</p>;
}
