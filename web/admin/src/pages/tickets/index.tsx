// Placeholder until the tickets pages land.
export default function TicketsArea() {
  return <p data-todo="tickets">tickets</p>;
}
