// Placeholder until the customers pages land.
export default function CustomersArea() {
  return <p data-todo="customers">customers</p>;
}
