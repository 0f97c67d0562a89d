// Placeholder until the dashboard/balance page lands.
export default function BalancePage() {
  return <p data-todo="dashboard/balance">dashboard/balance</p>;
}
