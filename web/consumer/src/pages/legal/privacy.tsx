import { LegalDocument } from "./document";

export default function PrivacyPage() {
  return <LegalDocument name="privacy" />;
}
