// Typed, collecting accessors over untyped YAML values: each wrong type or unknown field becomes
// an issue at its path and the accessor returns undefined, so validation keeps going.

import type { DocIssues, FieldPath } from "./doc-issues.js";

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class SpecReader {
  constructor(readonly issues: DocIssues) {}

  /** An object with known fields; unknown fields are warned about (Istio ignores them too with a warning in istioctl). */
  obj(v: unknown, path: FieldPath, allowed: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.issues.error(path, `must be an object, got ${typeName(v)}`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.issues.warn([...path, k], `unknown field "${k}" ignored`);
    }
    return v;
  }

  str(o: Obj, key: string, path: FieldPath): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
      this.issues.error([...path, key], `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  /** Non-negative or any integer (protobuf int/uint fields); strings of digits are accepted as YAML often quotes them. */
  int(o: Obj, key: string, path: FieldPath, opts: { min?: number; max?: number } = {}): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      this.issues.error([...path, key], `must be an integer, got ${typeName(v)}`);
      return undefined;
    }
    if (opts.min !== undefined && n < opts.min) {
      this.issues.error([...path, key], `must be >= ${opts.min}, got ${n}`);
      return undefined;
    }
    if (opts.max !== undefined && n > opts.max) {
      this.issues.error([...path, key], `must be <= ${opts.max}, got ${n}`);
      return undefined;
    }
    return n;
  }

  num(o: Obj, key: string, path: FieldPath): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.issues.error([...path, key], `must be a number, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  bool(o: Obj, key: string, path: FieldPath): boolean | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") {
      this.issues.error([...path, key], `must be true or false, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  arr(o: Obj, key: string, path: FieldPath): unknown[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.issues.error([...path, key], `must be a list, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  strArr(o: Obj, key: string, path: FieldPath): string[] | undefined {
    const a = this.arr(o, key, path);
    if (!a) return undefined;
    const out: string[] = [];
    a.forEach((v, i) => {
      if (typeof v !== "string") this.issues.error([...path, key, i], `must be a string, got ${typeName(v)}`);
      else out.push(v);
    });
    return out;
  }

  /** map<string,string> (labels, header operations). Scalars are stringified as Kubernetes would reject them; we report. */
  strMap(o: Obj, key: string, path: FieldPath): Record<string, string> | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.issues.error([...path, key], `must be a map of strings, got ${typeName(v)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== "string") this.issues.error([...path, key, k], `must be a string, got ${typeName(val)}`);
      else out[k] = val;
    }
    return out;
  }

  /** One of a fixed set of enum names (protobuf enums in YAML are their names). */
  enumOf<T extends string>(o: Obj, key: string, path: FieldPath, values: readonly T[]): T | undefined {
    const s = this.str(o, key, path);
    if (s === undefined) return undefined;
    if (!(values as readonly string[]).includes(s)) {
      this.issues.error([...path, key], `unsupported value "${s}", must be one of ${values.join(", ")}`);
      return undefined;
    }
    return s as T;
  }
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}
