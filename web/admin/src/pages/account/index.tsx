// Placeholder until the account pages land.
export default function AccountArea() {
  return <p data-todo="account">account</p>;
}
