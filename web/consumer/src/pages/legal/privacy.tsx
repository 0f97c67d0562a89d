// Placeholder until the legal/privacy page lands.
export default function PrivacyPage() {
  return <p data-todo="legal/privacy">legal/privacy</p>;
}
