// Placeholder until the dashboard/instances page lands.
export default function InstancesPage() {
  return <p data-todo="dashboard/instances">dashboard/instances</p>;
}
