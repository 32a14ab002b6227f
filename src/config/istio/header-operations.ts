// Istio `headers: {request, response: {set, add, remove}}` → Envoy header add/remove lists,
// following istiod: `set` before `add`, each sorted by name; `:authority`/`host` become a host rewrite.

import type { HeaderValueOption } from "../model/types.js";
import type { FieldPath } from "./doc-issues.js";
import type { ParsedHeaderOps } from "./parsed-config.js";
import type { SpecReader } from "./spec-reader.js";

const CONTROL_CHARS = /[\u0000-\u0008\u000A-\u001F\u007F]/;

function isInternal(name: string): boolean {
  return name.startsWith(":") || name.toLowerCase() === "host";
}

function isAuthority(name: string): boolean {
  const l = name.toLowerCase();
  return l === ":authority" || l === "host";
}

/** Envoy header value formatting: `%` must be escaped as `%%` or enclose a %COMMAND%. */
export function checkHeaderValue(v: string): string | undefined {
  if (CONTROL_CHARS.test(v)) return `header value ${JSON.stringify(v)} contains control characters`;
  let i = 0;
  while (i < v.length) {
    if (v[i] !== "%") {
      i++;
      continue;
    }
    if (v[i + 1] === "%") {
      i += 2;
      continue;
    }
    const end = v.indexOf("%", i + 1);
    if (end < 0) return `header value ${JSON.stringify(v)} has an unterminated '%' (write %% for a literal percent)`;
    if (!/^[A-Z_][A-Z0-9_]*(\(.*\))?(:\d+)?$/.test(v.slice(i + 1, end))) return `header value ${JSON.stringify(v)} has an invalid %COMMAND%`;
    i = end + 1;
  }
  return undefined;
}

export function parseHeaderOperations(r: SpecReader, v: unknown, path: FieldPath): ParsedHeaderOps | undefined {
  const o = r.obj(v, path, ["request", "response"]);
  if (!o) return undefined;
  const out: ParsedHeaderOps = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
  let setAuthority: string | undefined;
  let addAuthority: string | undefined;
  for (const side of ["request", "response"] as const) {
    const sp = [...path, side];
    const so = r.obj(o[side], sp, ["set", "add", "remove"]);
    if (!so) continue;
    const adds: HeaderValueOption[] = [];
    for (const op of ["set", "add"] as const) {
      const m = r.strMap(so, op, sp);
      if (!m) continue;
      const list: HeaderValueOption[] = [];
      for (const [name, value] of Object.entries(m)) {
        const fp = [...sp, op, name];
        if (name === "") r.issues.error(fp, "header name cannot be empty");
        else if (side === "request" && isAuthority(name)) {
          if (op === "set") setAuthority = value;
          else addAuthority = value;
        } else if (name.toLowerCase() === "host") r.issues.error(fp, `invalid header "${name}": cannot set Host header`);
        else if (name.startsWith(":")) r.issues.error(fp, `invalid header "${name}": header cannot have ":" prefix`);
        const verr = checkHeaderValue(value);
        if (verr) r.issues.error(fp, verr);
        if (!isInternal(name) && name !== "") {
          list.push({ key: name, value, appendAction: op === "set" ? "OVERWRITE_IF_EXISTS_OR_ADD" : "APPEND_IF_EXISTS_OR_ADD" });
        }
      }
      list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      adds.push(...list);
    }
    const removes: string[] = [];
    (r.strArr(so, "remove", sp) ?? []).forEach((name, i) => {
      const fp = [...sp, "remove", i];
      if (name === "") r.issues.error(fp, "header name cannot be empty");
      else if (name.toLowerCase() === "host") r.issues.error(fp, `invalid header "${name}": cannot set Host header`);
      else if (name.startsWith(":")) r.issues.error(fp, `invalid header "${name}": header cannot have ":" prefix`);
      else removes.push(name);
    });
    if (side === "request") {
      out.requestHeadersToAdd = adds;
      out.requestHeadersToRemove = removes;
    } else {
      out.responseHeadersToAdd = adds;
      out.responseHeadersToRemove = removes;
    }
  }
  if (setAuthority !== undefined && addAuthority !== undefined) {
    r.issues.error([...path, "request"], `authority header cannot be set multiple times: have "${setAuthority}", attempting to set "${addAuthority}"`);
  }
  const authority = setAuthority ?? addAuthority;
  if (authority !== undefined) out.authority = authority;
  return out;
}
