// RbacEngine: an Envoy RBAC rule set (RbacRules) compiled once per snapshot into plain predicates,
// shared by the HTTP filter and the network filter. Evaluation follows Envoy's RoleBasedAccessControlEngineImpl:
// policies in insertion order, the first one whose permissions AND principals match is "the
// matched policy"; ALLOW allows on a match, DENY denies on one, LOG allows always.

import type { RbacMetadataMatcher, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules, RbacValueMatcher } from "../../../config/model/rbac.js";
import type { ConnectionInfo } from "../../../listener/connection-info.js";
import { CompiledCidr, parseIp, type ParsedIp } from "../../../listener/cidr.js";
import type { RequestAuthInfo } from "../../../observability/stream-info.js";
import { compileHeaderMatcher } from "../../../router/header-matcher.js";
import { MatchContext } from "../../../router/match-context.js";
import type { RequestView } from "../../../router/request-view.js";
import { compileStringMatcher, type StringPredicate } from "../../../router/string-matcher.js";
import { compileUriTemplate } from "./uri-template.js";

/** What one evaluation looks at. HTTP fields are absent for a network (TCP) check. */
export class RbacInput {
  conn: ConnectionInfo = undefined as unknown as ConnectionInfo;
  /** The request (HTTP only); header matchers and url_path see it. */
  readonly match = new MatchContext();
  http = false;
  /** Client address after x-forwarded-for processing (Envoy remote_ip). */
  remoteIp = "";
  requestAuth: RequestAuthInfo | undefined = undefined;
  private directCache: ParsedIp | null | undefined;
  private remoteCache: ParsedIp | null | undefined;
  private localCache: ParsedIp | null | undefined;

  resetConnection(conn: ConnectionInfo): this {
    this.conn = conn;
    this.http = false;
    this.remoteIp = conn.remoteIp;
    this.requestAuth = undefined;
    this.directCache = this.remoteCache = this.localCache = undefined;
    return this;
  }

  resetRequest(conn: ConnectionInfo, req: RequestView, remoteIp: string, auth: RequestAuthInfo | undefined): this {
    this.resetConnection(conn);
    this.http = true;
    this.match.reset(req);
    this.remoteIp = remoteIp;
    this.requestAuth = auth;
    return this;
  }

  /** Drop references so a long-lived input keeps no request alive. */
  clear(): void {
    this.match.clear();
    this.requestAuth = undefined;
    this.conn = undefined as unknown as ConnectionInfo;
  }

  directIp(): ParsedIp | undefined {
    if (this.directCache === undefined) this.directCache = parseIp(this.conn.directRemoteIp) ?? null;
    return this.directCache ?? undefined;
  }
  /**
   * Envoy remote_ip: an inbound sidecar's connection manager has use_remote_address false and no
   * trusted hops, so the client address is the last x-forwarded-for entry when there is one.
   * Read only when a policy asks (remoteIpBlocks / remote.ip).
   */
  remoteIpParsed(): ParsedIp | undefined {
    if (this.remoteCache === undefined) {
      let ip = this.remoteIp;
      if (this.http) {
        const xff = this.match.req.headers.getJoined("x-forwarded-for");
        if (xff !== undefined) {
          const last = xff.slice(xff.lastIndexOf(",") + 1).trim();
          if (last !== "") ip = last;
        }
      }
      this.remoteCache = parseIp(ip) ?? null;
    }
    return this.remoteCache ?? undefined;
  }
  localIp(): ParsedIp | undefined {
    if (this.localCache === undefined) this.localCache = parseIp(this.conn.localIp) ?? null;
    return this.localCache ?? undefined;
  }
}

type Pred = (i: RbacInput) => boolean;

export interface CompiledPolicy {
  readonly name: string;
  readonly matches: Pred;
}

export interface RbacResult {
  allowed: boolean;
  /** The matched policy's name; undefined = none matched. */
  policy: string | undefined;
}

export class RbacEngine {
  readonly action: RbacRules["action"];
  readonly policies: readonly CompiledPolicy[];

  constructor(rules: RbacRules, where = "rbac") {
    this.action = rules.action;
    this.policies = Object.entries(rules.policies).map(([name, p]) => ({ name, matches: compilePolicy(p, `${where} policy ${name}`) }));
  }

  /** The first matching policy's name, or undefined. */
  matchedPolicy(input: RbacInput): string | undefined {
    for (const p of this.policies) if (p.matches(input)) return p.name;
    return undefined;
  }

  evaluate(input: RbacInput): RbacResult {
    const policy = this.matchedPolicy(input);
    switch (this.action) {
      case "ALLOW":
        return { allowed: policy !== undefined, policy };
      case "DENY":
        return { allowed: policy === undefined, policy };
      default:
        return { allowed: true, policy };
    }
  }
}

function compilePolicy(p: RbacPolicy, where: string): Pred {
  const perms = p.permissions.map((x) => compilePermission(x, where));
  const ids = p.principals.map((x) => compilePrincipal(x, where));
  const anyPerm = any(perms);
  const anyId = any(ids);
  return (i) => anyPerm(i) && anyId(i);
}

function any(ps: Pred[]): Pred {
  if (ps.length === 1) return ps[0]!;
  return (i) => {
    for (const p of ps) if (p(i)) return true;
    return false;
  };
}

function all(ps: Pred[]): Pred {
  if (ps.length === 1) return ps[0]!;
  return (i) => {
    for (const p of ps) if (!p(i)) return false;
    return true;
  };
}

const TRUE: Pred = () => true;

/** Envoy: a header matcher on a network (TCP) check has no headers and never matches. */
function headerPred(m: Parameters<typeof compileHeaderMatcher>[0], where: string): Pred {
  const h = compileHeaderMatcher(m, where);
  return (i) => i.http && h(i.match);
}

function cidrPred(r: { addressPrefix: string; prefixLen: number }, get: (i: RbacInput) => ParsedIp | undefined): Pred {
  const c = new CompiledCidr(r);
  return (i) => {
    const ip = get(i);
    return ip !== undefined && c.contains(ip);
  };
}

export function compilePermission(p: RbacPermission, where: string): Pred {
  if (p.any === true) return TRUE;
  if (p.andRules !== undefined) return all(p.andRules.rules.map((r) => compilePermission(r, where)));
  if (p.orRules !== undefined) return any(p.orRules.rules.map((r) => compilePermission(r, where)));
  if (p.notRule !== undefined) {
    const inner = compilePermission(p.notRule, where);
    return (i) => !inner(i);
  }
  if (p.header !== undefined) return headerPred(p.header, where);
  if (p.urlPath !== undefined) {
    const m = compileStringMatcher(p.urlPath.path, `${where} url_path`);
    return (i) => i.http && m(i.match.pathOnly());
  }
  if (p.uriTemplate !== undefined) {
    const m = compileUriTemplate(p.uriTemplate.pathTemplate, `${where} uri_template`);
    return (i) => i.http && m(i.match.pathOnly());
  }
  if (p.destinationIp !== undefined) return cidrPred(p.destinationIp, (i) => i.localIp());
  if (p.destinationPort !== undefined) {
    const port = p.destinationPort;
    return (i) => i.conn.localPort === port;
  }
  if (p.requestedServerName !== undefined) {
    const m = compileStringMatcher(p.requestedServerName, `${where} requested_server_name`);
    return (i) => m(i.conn.tls?.sni ?? i.conn.serverName);
  }
  if (p.metadata !== undefined) return metadataPred(p.metadata, where);
  throw new Error(`${where}: permission has no rule set`);
}

export function compilePrincipal(p: RbacPrincipal, where: string): Pred {
  if (p.any === true) return TRUE;
  if (p.andIds !== undefined) return all(p.andIds.ids.map((r) => compilePrincipal(r, where)));
  if (p.orIds !== undefined) return any(p.orIds.ids.map((r) => compilePrincipal(r, where)));
  if (p.notId !== undefined) {
    const inner = compilePrincipal(p.notId, where);
    return (i) => !inner(i);
  }
  if (p.authenticated !== undefined) {
    // Envoy's Authenticated matcher: a TLS peer with a certificate; principal_name is matched
    // against the first URI SAN (the full `spiffe://…` URI), else the certificate subject.
    const nm = p.authenticated.principalName;
    if (nm === undefined) return (i) => i.conn.tls?.peerCertificate !== undefined;
    const m = compileStringMatcher(nm, `${where} authenticated.principal_name`);
    return (i) => {
      const cert = i.conn.tls?.peerCertificate;
      if (cert === undefined) return false;
      return m(cert.uriSans.length > 0 ? cert.uriSans[0]! : cert.subject);
    };
  }
  if (p.directRemoteIp !== undefined) return cidrPred(p.directRemoteIp, (i) => i.directIp());
  if (p.remoteIp !== undefined) return cidrPred(p.remoteIp, (i) => i.remoteIpParsed());
  if (p.header !== undefined) return headerPred(p.header, where);
  if (p.metadata !== undefined) return metadataPred(p.metadata, where);
  throw new Error(`${where}: principal has no identifier set`);
}

/** istiod's JWT facts live in dynamic metadata `istio_authn`; we answer them from StreamInfo.requestAuth. */
export const ISTIO_AUTHN_FILTER = "istio_authn";

function metadataPred(m: RbacMetadataMatcher, where: string): Pred {
  if (m.filter !== ISTIO_AUTHN_FILTER) throw new Error(`${where}: metadata matcher on filter ${JSON.stringify(m.filter)} is not supported (only ${ISTIO_AUTHN_FILTER})`);
  if (m.path.length === 0) throw new Error(`${where}: metadata matcher has an empty path`);
  const [key, ...rest] = m.path as [string, ...string[]];
  const value = compileValue(m.value, where);
  let get: (a: RequestAuthInfo) => unknown;
  switch (key) {
    case "request.auth.principal":
      get = (a) => a.principal;
      break;
    case "request.auth.audiences":
      get = (a) => a.audiences;
      break;
    case "request.auth.presenter":
      get = (a) => (a.presenter === "" ? undefined : a.presenter);
      break;
    case "request.auth.claims":
      get = (a) => {
        let v: unknown = a.claims;
        for (const k of rest) {
          if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
          v = (v as Record<string, unknown>)[k];
        }
        return v;
      };
      break;
    case "source.principal":
    case "source.user":
      get = (a) => a.principal;
      break;
    default:
      throw new Error(`${where}: metadata path ${JSON.stringify(m.path.join("."))} of ${ISTIO_AUTHN_FILTER} is not supported`);
  }
  if (key !== "request.auth.claims" && rest.length > 0) throw new Error(`${where}: metadata path ${JSON.stringify(m.path.join("."))} is too long`);
  return (i) => {
    const a = i.requestAuth;
    if (a === undefined) return false;
    const v = get(a);
    return v !== undefined && value(v);
  };
}

type ValuePred = (v: unknown) => boolean;

function compileValue(m: RbacValueMatcher, where: string): ValuePred {
  if (m.stringMatch !== undefined) {
    const s: StringPredicate = compileStringMatcher(m.stringMatch, `${where} metadata`);
    return (v) => typeof v === "string" && s(v);
  }
  if (m.listMatch !== undefined) {
    const one = compileValue(m.listMatch.oneOf, where);
    // Istio's authn filter stores every claim (and the audiences) as a list, a string claim as a
    // one-element list: a list matcher sees a string as that list.
    return (v) => (Array.isArray(v) ? v.some(one) : one(v));
  }
  if (m.presentMatch !== undefined) {
    const want = m.presentMatch;
    return (v) => (v !== undefined) === want;
  }
  throw new Error(`${where}: metadata value matcher has no kind set`);
}
