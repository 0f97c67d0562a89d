// Placeholder until the logs pages land.
export default function LogsArea() {
  return <p data-todo="logs">logs</p>;
}
