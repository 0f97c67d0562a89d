// Placeholder until the dashboard/api-keys page lands.
export default function ApiKeysPage() {
  return <p data-todo="dashboard/api-keys">dashboard/api-keys</p>;
}
