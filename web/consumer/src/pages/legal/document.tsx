import { useTranslation } from "react-i18next";
import { brand, portalConfig } from "@/lib/config";

/** A legal text from the "legal" namespace: title, the template notice, then its sections. */
export function LegalDocument({ name }: { name: "terms" | "privacy" }) {
  const { t } = useTranslation("legal");
  const sections = t(`${name}.sections`, { returnObjects: true }) as { heading: string; body: string }[];
  return (
    <article className="mx-auto grid max-w-3xl gap-6">
      <header className="grid gap-2">
        <h1 className="text-2xl font-semibold">{t(`${name}.title`)}</h1>
        <p className="text-sm text-muted-foreground">{portalConfig().appTitle || brand.name}</p>
        <p className="rounded-md border bg-muted/40 p-3 text-sm text-muted-foreground">{t("notice")}</p>
      </header>
      {sections.map((section) => (
        <section key={section.heading} className="grid gap-1">
          <h2 className="font-semibold">{section.heading}</h2>
          <p className="text-sm leading-relaxed text-muted-foreground">{section.body}</p>
        </section>
      ))}
    </article>
  );
}
