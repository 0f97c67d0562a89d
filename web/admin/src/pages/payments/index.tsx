// Placeholder until the payments pages land.
export default function PaymentsArea() {
  return <p data-todo="payments">payments</p>;
}
