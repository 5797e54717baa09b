/**
 * The subset of JSON Schema the server's request bodies use (type, properties, required,
 * additionalProperties, items, enum, pattern, maxLength, maxItems, minItems). The same schemas
 * are published in /openapi.json, so what is documented is what is enforced. Errors are
 * located by JSON path.
 */

export interface Schema {
  readonly type?: "object" | "array" | "string" | "boolean" | "number";
  readonly description?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: Schema;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly minItems?: number;
}

/** The first problem of `value` against `schema`, located (`$.items[2].bundle`), or undefined. */
export function validate(schema: Schema, value: unknown, at = "$"): string | undefined {
  if (schema.type) {
    const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    if (actual !== schema.type) {
      return `${at}: must be ${schema.type === "array" || schema.type === "object" ? "an" : "a"} ${schema.type}, not ${actual}`;
    }
  }
  if (typeof value === "string") {
    if (schema.enum && !schema.enum.includes(value)) {
      return `${at}: must be one of ${schema.enum.join(", ")}`;
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return `${at}: longer than ${schema.maxLength} characters`;
    }
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
      return `${at}: does not match ${schema.pattern}`;
    }
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return `${at}: more than ${schema.maxItems} items`;
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      return `${at}: fewer than ${schema.minItems} items`;
    }
    if (schema.items) {
      for (let i = 0; i < value.length; i++) {
        const e = validate(schema.items, value[i], `${at}[${i}]`);
        if (e) {
          return e;
        }
      }
    }
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const r of schema.required ?? []) {
      if (o[r] === undefined) {
        return `${at}.${r}: is required`;
      }
    }
    for (const [k, v] of Object.entries(o)) {
      const sub = schema.properties?.[k];
      if (sub) {
        const e = validate(sub, v, `${at}.${k}`);
        if (e) {
          return e;
        }
      } else if (schema.additionalProperties === false) {
        return `${at}.${k}: is not a known field`;
      }
    }
  }
  return undefined;
}
