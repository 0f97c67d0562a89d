// Placeholder until the users pages land.
export default function UsersArea() {
  return <p data-todo="users">users</p>;
}
