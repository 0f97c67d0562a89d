// Placeholder until the dashboard/orders page lands.
export default function OrdersPage() {
  return <p data-todo="dashboard/orders">dashboard/orders</p>;
}
