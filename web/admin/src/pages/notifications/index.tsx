// Placeholder until the notifications pages land.
export default function NotificationsArea() {
  return <p data-todo="notifications">notifications</p>;
}
