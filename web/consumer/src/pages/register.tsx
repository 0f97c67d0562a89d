// Placeholder until the register page lands.
export default function RegisterPage() {
  return <p data-todo="register">register</p>;
}
