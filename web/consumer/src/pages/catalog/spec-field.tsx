// One field of a provider's spec template as a form control (upstream-wire
// §4.7): sliders, numbers, drop-downs for select/region/OS, a checkbox for
// booleans and a text input for anything else.
import { Checkbox, Input, Select } from "@rustbill/ui/input";
import type { SpecField, SpecGroup, SpecTemplate } from "@/gen/rustbill/product/product_pb";
import { Field } from "./widgets";

type Control = "slider" | "number" | "choice" | "boolean" | "text";

function controlOf(field: SpecField): Control {
  switch (field.fieldType.toLowerCase().replace(/[_\s-]/g, "")) {
    case "slider":
      return "slider";
    case "integer":
    case "number":
      return "number";
    case "select":
    case "radio":
    case "region":
    case "os":
    case "osoptions":
      return "choice";
    case "boolean":
    case "bool":
    case "checkbox":
      return "boolean";
    default:
      return "text";
  }
}

/** The starting value: the template's default, then the product's own spec, then the first choice or the minimum. */
export function initialValue(field: SpecField, productSpecs: Record<string, string>): string {
  const value = field.defaultValue ?? productSpecs[field.key];
  if (value !== undefined && value !== "") return value;
  const control = controlOf(field);
  if (control === "choice") return field.options.find((option) => !option.disabled)?.value ?? "";
  if (control === "boolean") return "false";
  if ((control === "slider" || control === "number") && field.min !== undefined) return String(field.min);
  return "";
}

/** The template's sections in display order: its groups, then the fields of no group. */
export function templateSections(template: SpecTemplate): { group?: SpecGroup; fields: SpecField[] }[] {
  const byOrder = <T extends { displayOrder: number }>(items: T[]) => [...items].sort((a, b) => a.displayOrder - b.displayOrder);
  const groups = byOrder(template.groups);
  const seen = new Set<string>();
  const sections = groups.map((group) => {
    const fields = [...group.fields, ...template.fields.filter((field) => field.group === group.key)].filter((field) => {
      if (seen.has(field.key)) return false;
      seen.add(field.key);
      return true;
    });
    return { group, fields: byOrder(fields) };
  });
  const rest = byOrder(template.fields.filter((field) => !seen.has(field.key)));
  return [...sections, ...(rest.length > 0 ? [{ fields: rest }] : [])].filter((section) => section.fields.length > 0);
}

export function SpecFieldInput({
  field,
  value,
  onChange,
}: {
  field: SpecField;
  value: string;
  onChange: (value: string) => void;
}) {
  const id = `spec-${field.key}`;
  const label = field.label || field.key;
  const unit = field.unit ? ` (${field.unit})` : "";
  const bounds = {
    min: field.min !== undefined ? Number(field.min) : undefined,
    max: field.max !== undefined ? Number(field.max) : undefined,
    step: field.step !== undefined ? Number(field.step) : undefined,
  };
  const control = controlOf(field);

  if (control === "boolean") {
    return (
      <div className="grid gap-1">
        <div className="flex items-center gap-2">
          <Checkbox id={id} checked={value === "true"} onChange={(event) => onChange(event.target.checked ? "true" : "false")} />
          <label htmlFor={id} className="text-sm font-medium">
            {label}
          </label>
        </div>
        {field.description ? <p className="text-xs text-muted-foreground">{field.description}</p> : null}
      </div>
    );
  }

  return (
    <Field id={id} label={`${label}${unit}`} hint={field.description || undefined}>
      {control === "slider" ? (
        <div className="flex items-center gap-3">
          <input
            id={id}
            type="range"
            className="h-2 flex-1 accent-primary"
            {...bounds}
            value={value}
            onChange={(event) => onChange(event.target.value)}
          />
          <output htmlFor={id} className="w-20 text-right text-sm tabular-nums">
            {value}
            {field.unit ? ` ${field.unit}` : ""}
          </output>
        </div>
      ) : control === "number" ? (
        <Input id={id} type="number" inputMode="numeric" required={field.required} {...bounds} value={value} onChange={(event) => onChange(event.target.value)} />
      ) : control === "choice" ? (
        <Select id={id} required={field.required} value={value} onChange={(event) => onChange(event.target.value)}>
          {field.options.map((option) => (
            <option key={option.value} value={option.value} disabled={option.disabled}>
              {option.label || option.value}
            </option>
          ))}
        </Select>
      ) : (
        <Input id={id} required={field.required} value={value} onChange={(event) => onChange(event.target.value)} />
      )}
    </Field>
  );
}
