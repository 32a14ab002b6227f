// explain: which authorization (RBAC) filter of the chosen chain would allow or deny the request,
// and by which policy (`ns[NS]-policy[NAME]-rule[I]`) — the "precise reason for a 403" users ask
// for. Evaluated with the same engine as the data path, offline: the caller says who the peer is
// (a SPIFFE principal = an mTLS client certificate) and the request; JWT facts are absent.

import type { RbacConfig } from "../config/model/rbac.js";
import { HTTP_CONNECTION_MANAGER, HTTP_RBAC_FILTER, NETWORK_RBAC_FILTER, type FilterChain } from "../config/model/types.js";
import { RbacEngine, RbacInput } from "../http/filters/rbac/rbac-engine.js";
import { rbacDeniedDetails } from "../http/filters/rbac/rbac-filter.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { RequestView } from "./request-view.js";

export interface AuthzStep {
  filter: string;
  action: "ALLOW" | "DENY" | "LOG";
  /** The first policy that matches; null = none. */
  matchedPolicy: string | null;
  result: "allowed" | "denied" | "logged" | "not logged";
}

export interface AuthzExplanation {
  steps: AuthzStep[];
  /** Response code details of the denial (`rbac_access_denied_matched_policy[…]`); absent = allowed. */
  denied?: string;
}

/** The peer as explain models it: plaintext, or mTLS with the given SPIFFE principal (without `spiffe://`). */
export function explainConnection(base: ConnectionInfo, principal: string | undefined): ConnectionInfo {
  if (principal === undefined) return base;
  const uri = principal.startsWith("spiffe://") ? principal : `spiffe://${principal}`;
  return {
    ...base,
    transportProtocol: "tls",
    tls: {
      version: "TLSv1.3",
      cipher: "",
      alpn: "",
      sni: "",
      sessionReused: false,
      localUriSans: [],
      peerCertificate: { uriSans: [uri], dnsSans: [], subject: "", sha256: "", serial: "", pem: "" },
      peerPrincipal: uri.slice("spiffe://".length),
    },
  };
}

/** The chain's RBAC filters evaluated in order (HTTP: `req` given); undefined when it has none. */
export function explainAuthorization(chain: FilterChain, conn: ConnectionInfo, req: RequestView | undefined): AuthzExplanation | undefined {
  const terminal = chain.filters[chain.filters.length - 1];
  const configs: Array<{ name: string; config: RbacConfig }> = chain.filters.filter((f) => f.name === NETWORK_RBAC_FILTER).map((f) => ({ name: f.name, config: f.typedConfig as RbacConfig }));
  if (req !== undefined && terminal?.name === HTTP_CONNECTION_MANAGER) {
    for (const f of terminal.typedConfig.httpFilters) if (f.name === HTTP_RBAC_FILTER && f.typedConfig !== undefined) configs.push({ name: f.name, config: f.typedConfig as RbacConfig });
  }
  if (configs.length === 0) return undefined;
  const input = new RbacInput();
  const out: AuthzExplanation = { steps: [] };
  for (const { name, config } of configs) {
    if (config.rules === undefined) continue;
    const engine = new RbacEngine(config.rules, name);
    const http = name === HTTP_RBAC_FILTER && req !== undefined;
    const i = http ? input.resetRequest(conn, req, conn.remoteIp, undefined) : input.resetConnection(conn);
    const r = engine.evaluate(i);
    const result = engine.action === "LOG" ? (r.policy !== undefined ? "logged" : "not logged") : r.allowed ? "allowed" : "denied";
    out.steps.push({ filter: name, action: engine.action, matchedPolicy: r.policy ?? null, result });
    if (result === "denied") {
      out.denied = rbacDeniedDetails(r.policy);
      break;
    }
  }
  input.clear();
  return out;
}
