// Placeholder until the dashboard pages land.
export default function DashboardArea() {
  return <p data-todo="dashboard">dashboard</p>;
}
