// Placeholder until the legal/terms page lands.
export default function TermsPage() {
  return <p data-todo="legal/terms">legal/terms</p>;
}
