// The provider plugin's detail sections of an instance: key/value rows as a
// table, plugin HTML in a sandboxed frame (both, as tabs, when a section
// carries both).
import * as React from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@rustbill/ui/button";
import { Table, TBody, TD, TH, THead, TR } from "@rustbill/ui/table";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@rustbill/ui/tabs";
import { TitledCard } from "@/components/page";
import type { InstanceDetailField, InstanceDetailSection } from "@/gen/rustbill/instance/instance_pb";
import { formatDateTime } from "@rustbill/ui/utils";

function SecretValue({ value }: { value: string }) {
  const { t } = useTranslation("instances");
  const [shown, setShown] = React.useState(false);
  return (
    <span className="inline-flex items-center gap-2">
      <span className="font-mono text-xs">{shown ? value : "••••••••"}</span>
      <Button variant="ghost" size="sm" className="h-6 px-2" onClick={() => setShown(!shown)}>
        {shown ? t("sections.hide") : t("sections.show")}
      </Button>
    </span>
  );
}

/** A value drawn after its `value_type` hint; unknown hints show the text. */
function FieldValue({ field }: { field: InstanceDetailField }) {
  const { i18n } = useTranslation();
  switch (field.valueType) {
    case "url":
    case "link":
      return /^https?:\/\//i.test(field.value) ? (
        <a href={field.value} target="_blank" rel="noopener noreferrer" className="text-primary hover:underline">
          {field.value}
        </a>
      ) : (
        <>{field.value}</>
      );
    case "password":
    case "secret":
      return <SecretValue value={field.value} />;
    case "code":
      return <code className="rounded bg-muted px-1 font-mono text-xs">{field.value}</code>;
    case "datetime":
      return <>{formatDateTime(field.value, i18n.language)}</>;
    default:
      return <span className="whitespace-pre-wrap">{field.value}</span>;
  }
}

function FieldsTable({ fields }: { fields: InstanceDetailField[] }) {
  const { t } = useTranslation("instances");
  return (
    <Table>
      <THead>
        <TR>
          <TH className="w-1/3">{t("sections.key")}</TH>
          <TH>{t("sections.value")}</TH>
        </TR>
      </THead>
      <TBody>
        {fields.map((field, index) => (
          <TR key={`${field.key}-${index}`}>
            <TD className="text-muted-foreground">{field.key}</TD>
            <TD className="break-all">
              <FieldValue field={field} />
            </TD>
          </TR>
        ))}
      </TBody>
    </Table>
  );
}

/**
 * Whether plugin HTML needs scripts: script tags, event handler attributes,
 * javascript: URLs, or an embedded frame (a provider console), which the
 * frame's sandbox would stop as well.
 */
function needsScripts(html: string): boolean {
  return /<script\b|<iframe\b|\son[a-z]+\s*=|javascript:/i.test(html);
}

/** A fragment as a whole document; links open in a new tab. */
function frameDocument(html: string): string {
  if (/^\s*(<!doctype|<html)/i.test(html)) return html;
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{margin:12px;font:14px system-ui,sans-serif;color:#1f2937}</style></head><body>${html}</body></html>`;
}

/**
 * Plugin HTML in a sandboxed frame: never same-origin with this app (no
 * cookies, no access to the page), scripts only when the HTML has any.
 * The plugin styles its page for a light background, in both themes.
 */
function SectionFrame({ title, html }: { title: string; html: string }) {
  const sandbox = ["allow-popups", "allow-popups-to-escape-sandbox", ...(needsScripts(html) ? ["allow-scripts"] : [])];
  return (
    <iframe
      title={title}
      sandbox={sandbox.join(" ")}
      srcDoc={frameDocument(html)}
      referrerPolicy="no-referrer"
      className="h-72 w-full rounded-md border bg-white"
    />
  );
}

export function SectionCard({ section }: { section: InstanceDetailSection }) {
  const { t } = useTranslation("instances");
  const hasFields = section.fields.length > 0;
  const hasHtml = section.contentHtml.trim() !== "";
  return (
    <TitledCard title={section.title}>
      {hasFields && hasHtml ? (
        <Tabs defaultValue="fields">
          <TabsList>
            <TabsTrigger value="fields">{t("sections.fields")}</TabsTrigger>
            <TabsTrigger value="page">{t("sections.page")}</TabsTrigger>
          </TabsList>
          <TabsContent value="fields">
            <FieldsTable fields={section.fields} />
          </TabsContent>
          <TabsContent value="page">
            <SectionFrame title={section.title} html={section.contentHtml} />
          </TabsContent>
        </Tabs>
      ) : hasFields ? (
        <FieldsTable fields={section.fields} />
      ) : hasHtml ? (
        <SectionFrame title={section.title} html={section.contentHtml} />
      ) : null}
    </TitledCard>
  );
}
