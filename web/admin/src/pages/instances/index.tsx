// Placeholder until the instances pages land.
export default function InstancesArea() {
  return <p data-todo="instances">instances</p>;
}
