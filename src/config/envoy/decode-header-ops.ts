// Envoy's header mutations on routes, virtual hosts, route configurations and weighted clusters:
// HeaderValueOption lists (append_action, or v2's `append` BoolValue) and header-name lists to remove.

import type { HeaderValueOption } from "../model/types.js";
import { at, bool, checkFields, enumOf, list, obj, str, strList, type DecodeState } from "./decode-common.js";

const APPEND_ACTIONS = ["APPEND_IF_EXISTS_OR_ADD", "ADD_IF_ABSENT", "OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"] as const;

/** envoy.config.core.v3.HeaderValueOption list. */
export function headerValueOptions(v: unknown, path: string, st: DecodeState): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  list(v, path, st).forEach((x, i) => {
    const p = at(path, i);
    const o = obj(x, p, st);
    if (o === undefined) return;
    checkFields(o, p, st, ["header", "append", "append_action"], {}, { keep_empty_value: "keep_empty_value is not supported: a header whose value is empty is still added" });
    const h = obj(o.header, at(p, "header"), st);
    if (h === undefined) return void st.error(at(p, "header"), "a header is required");
    checkFields(h, at(p, "header"), st, ["key", "value", "raw_value"]);
    const key = str(h.key, at(p, "header.key"), st);
    if (key === undefined || key === "") return void st.error(at(p, "header.key"), "a header name is required");
    let value = str(h.value, at(p, "header.value"), st) ?? "";
    if (h.raw_value !== undefined) {
      const raw = str(h.raw_value, at(p, "header.raw_value"), st);
      if (raw !== undefined) value = Buffer.from(raw, "base64").toString("latin1");
    }
    // Envoy: `append` (deprecated, default true) and append_action are exclusive.
    if (o.append !== undefined && o.append_action !== undefined) return void st.error(p, "append and append_action cannot both be set");
    let action: HeaderValueOption["appendAction"] = "APPEND_IF_EXISTS_OR_ADD";
    if (o.append !== undefined) {
      if (bool(o.append, at(p, "append"), st) === false) action = "OVERWRITE_IF_EXISTS_OR_ADD";
    } else if (o.append_action !== undefined) {
      const a = enumOf(o.append_action, APPEND_ACTIONS, at(p, "append_action"), st);
      if (a === "ADD_IF_ABSENT" || a === "OVERWRITE_IF_EXISTS") return void st.error(at(p, "append_action"), `${a} is not supported by Outrigger (APPEND_IF_EXISTS_OR_ADD or OVERWRITE_IF_EXISTS_OR_ADD)`);
      if (a === undefined) return;
      action = a;
    }
    // Envoy substitutes command operators (%DOWNSTREAM_REMOTE_ADDRESS%, …) in header values; the data path sends values as written.
    if (/%[A-Z][A-Z0-9_]*(\([^)]*\))?(:\d+)?%/.test(value)) st.note(at(p, "header.value"), `Envoy's command operators are not substituted: ${JSON.stringify(value)} is sent as written`);
    out.push({ key, value, appendAction: action });
  });
  return out;
}

/** A list of header names to remove (kept as written: the data path compares them case-insensitively). */
export function headersToRemove(v: unknown, path: string, st: DecodeState): string[] {
  return strList(v, path, st);
}

/** The four mutation lists of a route / virtual host / route configuration / weighted cluster. */
export interface HeaderOps {
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
}

export const HEADER_OPS_FIELDS = ["request_headers_to_add", "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove"] as const;

export function headerOps(o: Record<string, unknown>, path: string, st: DecodeState): HeaderOps {
  return {
    requestHeadersToAdd: headerValueOptions(o.request_headers_to_add, at(path, "request_headers_to_add"), st),
    requestHeadersToRemove: headersToRemove(o.request_headers_to_remove, at(path, "request_headers_to_remove"), st),
    responseHeadersToAdd: headerValueOptions(o.response_headers_to_add, at(path, "response_headers_to_add"), st),
    responseHeadersToRemove: headersToRemove(o.response_headers_to_remove, at(path, "response_headers_to_remove"), st),
  };
}
