// Placeholder until the dashboard/overview page lands.
export default function OverviewPage() {
  return <p data-todo="dashboard/overview">dashboard/overview</p>;
}
