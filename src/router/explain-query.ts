// The request `explain` is asked about, from the admin `/explain` query or the CLI flags (same
// names: method, authority, path, header k:v (repeatable), port, listener, principal, format).

import type { ExplainRequest } from "./explain.js";

export interface ExplainQuery {
  request: ExplainRequest;
  format: "text" | "json";
}

/** What to ask about, or an error message naming the bad parameter. */
export function explainQuery(get: (name: string) => string | undefined, getAll: (name: string) => string[]): ExplainQuery | string {
  const authority = get("authority");
  if (authority === undefined || authority === "") return "authority is required (the Host header, e.g. reviews:9080)";
  const headers: Array<[string, string]> = [];
  for (const h of getAll("header")) {
    const i = h.indexOf(":", h.startsWith(":") ? 1 : 0);
    if (i <= 0) return `header ${JSON.stringify(h)}: expected name:value`;
    headers.push([h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()]);
  }
  const portText = get("port");
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return `port ${JSON.stringify(portText)}: expected 1..65535`;
    port = Number(portText);
  }
  const path = get("path") ?? "/";
  if (!path.startsWith("/")) return `path ${JSON.stringify(path)}: must start with /`;
  const format = get("format") ?? "text";
  if (format !== "text" && format !== "json") return `format ${JSON.stringify(format)}: use text or json`;
  const method = (get("method") ?? "GET").toUpperCase();
  if (!/^[A-Z]+$/.test(method)) return `method ${JSON.stringify(method)}: expected a token such as GET`;
  const listener = get("listener");
  const principal = get("principal");
  if (principal !== undefined && (principal === "" || /\s/.test(principal))) return `principal ${JSON.stringify(principal)}: expected a SPIFFE identity such as cluster.local/ns/default/sa/sleep`;
  return { request: { method, authority, path, headers, port, listener: listener === "" ? undefined : listener, ...(principal !== undefined ? { principal } : {}) }, format };
}
