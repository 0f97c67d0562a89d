// Placeholder until the login page lands.
export default function LoginPage() {
  return <p data-todo="login">login</p>;
}
