// The configuration form of a plugin interface, rendered from the JSON
// Schema its script's config_schema() returns. Plugins use a flat object:
// properties of type string / integer / number / boolean, `enum`,
// `format: "password"`, `required`, `default` (or `default_value`),
// `title` / `description` (hints; each input is labelled with its property
// name), `minimum` / `maximum` (the server checks the rest, e.g. `pattern`).
// A property of another type (object, array) is edited as JSON. Without
// properties the whole configuration is edited as JSON. Used for a new
// interface (from its definition's schema) and an existing one.
//
// Secrets: the server answers every non-empty `format: "password"` value as
// "******" and keeps the stored secret when "******" is sent back, so the
// mask is shown as the field's value and sent unchanged unless retyped.
import * as React from "react";
import { useTranslation } from "react-i18next";
import { BadRequestSchema } from "@/gen/google/rpc/error_details_pb";
import { Checkbox, Input, Select, Textarea } from "@rustbill/ui/input";
import { Field } from "@/components/form";
import { ConnectError } from "@/lib/api";

export const SECRET_MASK = "******";
const CONFIG_FIELD = "config_json";

interface PropertySchema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  default_value?: unknown;
  minimum?: number;
  maximum?: number;
}

type Kind = "boolean" | "integer" | "number" | "enum" | "string" | "json";

interface Property {
  name: string;
  schema: PropertySchema;
  kind: Kind;
  required: boolean;
  secret: boolean;
  multiline: boolean;
  defaultValue: unknown;
}

type Values = Record<string, string | boolean>;

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function parseObject(text: string): Record<string, unknown> {
  try {
    return asObject(JSON.parse(text || "{}"));
  } catch {
    return {};
  }
}

function kindOf(schema: PropertySchema): Kind {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((item) => item !== "null") : schema.type;
  switch (type) {
    case "boolean":
    case "integer":
    case "number":
      return type;
    case "object":
    case "array":
      return "json";
    default:
      return "string";
  }
}

function properties(schemaText: string): Property[] {
  const schema = parseObject(schemaText);
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(asObject(schema.properties)).map(([name, raw]) => {
    const property = asObject(raw) as PropertySchema;
    return {
      name,
      schema: property,
      kind: kindOf(property),
      required: required.has(name),
      secret: property.format === "password",
      // PEM keys and certificates span lines (a password <input> would drop the newlines).
      multiline: property.format === "textarea" || name.endsWith("_pem"),
      defaultValue: property.default ?? property.default_value,
    };
  });
}

function encode(kind: Kind, value: unknown): string | boolean {
  if (kind === "boolean") return value === true || value === "true";
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value, null, 2);
  return typeof value === "string" ? value : String(value);
}

/**
 * Form state for a configuration. `withDefaults` pre-fills properties the
 * configuration lacks with the schema's defaults. When the schema or the
 * stored configuration changes (another plugin definition chosen), the form
 * starts again from them.
 */
export function useConfigForm(schemaText: string, configText: string, withDefaults = false) {
  const { t } = useTranslation("plugins");
  const props = React.useMemo(() => properties(schemaText), [schemaText]);
  const stored = React.useMemo(() => parseObject(configText), [configText]);
  const initialValues = (): Values => {
    const initial: Values = {};
    for (const prop of props) {
      const value = prop.name in stored ? stored[prop.name] : withDefaults ? prop.defaultValue : undefined;
      initial[prop.name] = encode(prop.kind, value);
    }
    return initial;
  };
  const [values, setValues] = React.useState<Values>(initialValues);
  const [rawJson, setRawJson] = React.useState(() => JSON.stringify(stored, null, 2));
  const [localErrors, setLocalErrors] = React.useState<Record<string, string>>({});
  const [basis, setBasis] = React.useState({ schemaText, configText });
  if (basis.schemaText !== schemaText || basis.configText !== configText) {
    setBasis({ schemaText, configText });
    setValues(initialValues());
    setRawJson(JSON.stringify(stored, null, 2));
    setLocalErrors({});
  }

  /**
   * The config_json to send, or null (with the problems shown) when a value
   * cannot be encoded or, with `requireAll` (about to enable), a required
   * property is empty.
   */
  const build = ({ requireAll = false }: { requireAll?: boolean } = {}): string | null => {
    const problems: Record<string, string> = {};
    let config: Record<string, unknown>;
    if (props.length === 0) {
      try {
        const parsed: unknown = JSON.parse(rawJson || "{}");
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
        config = parsed as Record<string, unknown>;
      } catch {
        problems[CONFIG_FIELD] = t("config.invalidJson");
        config = {};
      }
    } else {
      // Keys the schema does not list are kept as stored.
      config = { ...stored };
      for (const prop of props) {
        const value = values[prop.name];
        const key = `${CONFIG_FIELD}.${prop.name}`;
        if (prop.kind === "boolean") {
          config[prop.name] = value === true;
          continue;
        }
        const text = typeof value === "string" ? value : "";
        if (text.trim() === "") {
          if (requireAll && prop.required) problems[key] = t("config.requiredMissing");
          delete config[prop.name];
          continue;
        }
        if (prop.kind === "integer" || prop.kind === "number") {
          const number = Number(text);
          if (!Number.isFinite(number) || (prop.kind === "integer" && !Number.isInteger(number))) {
            problems[key] = prop.kind === "integer" ? t("config.notInteger") : t("config.notNumber");
          } else {
            config[prop.name] = number;
          }
        } else if (prop.kind === "enum") {
          config[prop.name] = prop.schema.enum?.find((option) => String(option) === text) ?? text;
        } else if (prop.kind === "json") {
          try {
            config[prop.name] = JSON.parse(text);
          } catch {
            problems[key] = t("config.invalidJson");
          }
        } else {
          config[prop.name] = text;
        }
      }
    }
    setLocalErrors(problems);
    return Object.keys(problems).length > 0 ? null : JSON.stringify(config);
  };

  return {
    props,
    values,
    setValue: (name: string, value: string | boolean) => setValues((current) => ({ ...current, [name]: value })),
    rawJson,
    setRawJson,
    localErrors,
    build,
  };
}

export type ConfigFormState = ReturnType<typeof useConfigForm>;

/**
 * The server's violations of a failed save, by field. Missing required
 * properties come as `config_json: "<name> is required"`; they are moved to
 * `config_json.<name>` so each shows next to its own input.
 */
export function configErrors(error: unknown): Record<string, string> {
  if (!error) return {};
  const out: Record<string, string> = {};
  for (const detail of ConnectError.from(error).findDetails(BadRequestSchema)) {
    for (const violation of detail.fieldViolations) {
      const required = violation.field === CONFIG_FIELD ? /^(\S+) is required$/.exec(violation.description) : null;
      const field = required ? `${CONFIG_FIELD}.${required[1]}` : violation.field;
      out[field] = out[field] ? `${out[field]}; ${violation.description}` : violation.description;
    }
  }
  return out;
}

/** The inputs of a configuration form (one per schema property). */
export function ConfigFields({
  form,
  errors,
  disabled,
}: {
  form: ConfigFormState;
  errors: Record<string, string>;
  disabled?: boolean;
}) {
  const { t } = useTranslation("plugins");
  const formError = form.localErrors[CONFIG_FIELD] ?? errors[CONFIG_FIELD];
  if (form.props.length === 0) {
    return (
      <Field label={t("config.rawJson")} htmlFor="config-json" error={formError} hint={t("config.noSchema")}>
        <Textarea
          id="config-json"
          className="min-h-48 font-mono text-xs"
          value={form.rawJson}
          disabled={disabled}
          onChange={(event) => form.setRawJson(event.target.value)}
        />
      </Field>
    );
  }
  return (
    <div className="grid gap-4">
      {formError ? (
        <p role="alert" className="text-sm text-destructive">
          {formError}
        </p>
      ) : null}
      {form.props.map((prop) => {
        const key = `${CONFIG_FIELD}.${prop.name}`;
        return (
          <PropertyField
            key={prop.name}
            prop={prop}
            value={form.values[prop.name]}
            onChange={(value) => form.setValue(prop.name, value)}
            error={form.localErrors[key] ?? errors[key]}
            disabled={disabled}
          />
        );
      })}
    </div>
  );
}

function PropertyField({
  prop,
  value,
  onChange,
  error,
  disabled,
}: {
  prop: Property;
  value: string | boolean;
  onChange: (value: string | boolean) => void;
  error?: string;
  disabled?: boolean;
}) {
  const { t } = useTranslation("plugins");
  const id = `config-${prop.name}`;
  const text = typeof value === "string" ? value : "";
  // The label is the property name (what the plugin's docs and the server's
  // errors use); a schema `title` goes into the hint.
  const label = (
    <>
      {prop.name}
      {prop.required ? (
        <span aria-hidden="true" className="text-destructive" title={t("config.required")}>
          {" *"}
        </span>
      ) : null}
    </>
  );
  const hints = [
    prop.schema.title ?? "",
    prop.schema.description ?? "",
    prop.secret && text === SECRET_MASK ? t("config.secretKept") : "",
  ].filter(Boolean);
  const hint = hints.length > 0 ? hints.join(" · ") : undefined;
  const common = {
    id,
    // The name without the required marker (which aria-required conveys).
    "aria-label": prop.name,
    disabled,
    "aria-required": prop.required || undefined,
    "aria-invalid": error ? true : undefined,
  };
  const placeholder = prop.defaultValue !== undefined && prop.defaultValue !== null ? String(prop.defaultValue) : undefined;

  if (prop.kind === "boolean") {
    return (
      <div className="grid gap-1.5">
        <div className="flex items-center gap-2">
          <Checkbox {...common} checked={value === true} onChange={(event) => onChange(event.target.checked)} />
          <label htmlFor={id} className="text-sm font-medium">
            {label}
          </label>
        </div>
        {hint && !error ? <p className="text-xs text-muted-foreground">{hint}</p> : null}
        {error ? (
          <p className="text-xs text-destructive" role="alert" data-field-error={id}>
            {error}
          </p>
        ) : null}
      </div>
    );
  }

  let input: React.ReactNode;
  if (prop.kind === "enum") {
    input = (
      <Select {...common} value={text} onChange={(event) => onChange(event.target.value)}>
        <option value="">{placeholder ? t("config.defaultOption", { value: placeholder }) : "—"}</option>
        {(prop.schema.enum ?? []).map((option) => (
          <option key={String(option)} value={String(option)}>
            {String(option)}
          </option>
        ))}
      </Select>
    );
  } else if (prop.kind === "integer" || prop.kind === "number") {
    input = (
      <Input
        {...common}
        type="number"
        inputMode={prop.kind === "integer" ? "numeric" : "decimal"}
        step={prop.kind === "integer" ? 1 : "any"}
        min={prop.schema.minimum}
        max={prop.schema.maximum}
        placeholder={placeholder}
        value={text}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  } else if (prop.kind === "json" || prop.multiline) {
    input = (
      <Textarea
        {...common}
        className="min-h-28 font-mono text-xs"
        spellCheck={false}
        placeholder={placeholder}
        value={text}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  } else {
    input = (
      <Input
        {...common}
        type={prop.secret ? "password" : "text"}
        autoComplete={prop.secret ? "new-password" : "off"}
        placeholder={placeholder}
        value={text}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  }
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      {input}
    </Field>
  );
}
