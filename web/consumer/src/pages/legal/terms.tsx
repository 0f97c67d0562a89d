import { LegalDocument } from "./document";

export default function TermsPage() {
  return <LegalDocument name="terms" />;
}
