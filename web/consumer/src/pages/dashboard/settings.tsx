// Placeholder until the dashboard/settings page lands.
export default function SettingsPage() {
  return <p data-todo="dashboard/settings">dashboard/settings</p>;
}
