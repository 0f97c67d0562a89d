// Placeholder until the orders pages land.
export default function OrdersArea() {
  return <p data-todo="orders">orders</p>;
}
