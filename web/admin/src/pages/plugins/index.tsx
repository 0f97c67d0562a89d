// Placeholder until the plugins pages land.
export default function PluginsArea() {
  return <p data-todo="plugins">plugins</p>;
}
