// One AuthorizationPolicy rule → one Envoy RBAC policy, as istiod's authz model builds it
// (pilot/pkg/security/authz/model): `when` conditions become the base of every principal (source
// and request attributes) or permission (destination attributes); each `from.source` is an AND of
// its fields on top of that base, the sources OR'ed; likewise `to.operation`. A field's values are
// OR'ed, its notValues are NOT(OR). For TCP, HTTP-only attributes cannot be evaluated: in an ALLOW
// policy the whole rule is dropped (smaller allow), in DENY/AUDIT only that value is dropped
// (wider deny: a DENY rule of only HTTP fields then denies the whole port).

import type { RbacPermission, RbacPolicy, RbacPrincipal } from "../model/rbac.js";
import type { CidrRange } from "../model/types.js";
import { envoyPathTemplate, isPathTemplate } from "./authz-path-template.js";
import { istioHeaderMatcher, istioHostMatcher, istioStringMatcher, namespaceRegex, serviceAccountRegex } from "./authz-matchers.js";

export const ISTIO_AUTHN = "istio_authn";

/** A parsed rule; field values as written. */
export interface AuthzRule {
  from: AuthzSource[];
  to: AuthzOperation[];
  when: AuthzCondition[];
}

export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  /** `sa` (the policy's namespace) or `ns/sa`. */
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

/** A value that cannot be evaluated here (HTTP-only on TCP). */
class HttpOnly extends Error {}

type Gen<T> = (value: string, forTCP: boolean) => T;

interface Field<T> {
  key: string;
  gen: Gen<T>;
  values: string[] | undefined;
  notValues: string[] | undefined;
}

/** "10.0.0.1" → /32, "10.0.0.0/16" as written (istiod util.AddrStrToCidrRange). */
export function cidrOf(v: string): CidrRange {
  const slash = v.indexOf("/");
  if (slash < 0) return { addressPrefix: v, prefixLen: v.includes(":") ? 128 : 32 };
  return { addressPrefix: v.slice(0, slash), prefixLen: Number(v.slice(slash + 1)) };
}

function httpOnly<T>(key: string, gen: (v: string) => T): Gen<T> {
  return (v, forTCP) => {
    if (forTCP) throw new HttpOnly(`"${key}" is HTTP only`);
    return gen(v);
  };
}

function authnMetadata(path: string[], value: string, list: boolean): RbacPrincipal {
  const sm = { stringMatch: istioStringMatcher(value) };
  return { metadata: { filter: ISTIO_AUTHN, path, value: list ? { listMatch: { oneOf: sm } } : sm } };
}

/** `request.auth.claims[a][b]` → ["a", "b"]; undefined when malformed. */
export function claimPath(key: string): string[] | undefined {
  const rest = key.slice("request.auth.claims".length);
  const m = rest.match(/^(\[[^[\]]+\])+$/);
  if (m === null) return undefined;
  return rest.slice(1, -1).split("][");
}

/** `request.headers[name]` → name. */
export function headerName(key: string): string | undefined {
  const m = key.match(/^request\.headers\[([^[\]]+)\]$/);
  return m === null ? undefined : m[1]!;
}

const principalGen = {
  principal: (v: string): RbacPrincipal => ({ authenticated: { principalName: istioStringMatcher(v, "spiffe://") } }),
  namespace: (v: string): RbacPrincipal => ({ authenticated: { principalName: namespaceRegex(v) } }),
  srcIp: (v: string): RbacPrincipal => ({ directRemoteIp: cidrOf(v) }),
  remoteIp: (v: string): RbacPrincipal => ({ remoteIp: cidrOf(v) }),
};

/** istiod srcServiceAccountGenerator: `sa` alone is in the policy's namespace. */
function serviceAccountGen(policyNamespace: string): Gen<RbacPrincipal> {
  return (v) => ({ authenticated: { principalName: serviceAccountRegex(policyNamespace, v) } });
}

/** The generator of a `when` key on the principal side, or undefined when it is a permission key. */
function whenPrincipal(key: string, policyNamespace: string): Gen<RbacPrincipal> | undefined {
  switch (key) {
    case "source.serviceAccount":
      return serviceAccountGen(policyNamespace);
    case "source.ip":
      return principalGen.srcIp;
    case "remote.ip":
      return principalGen.remoteIp;
    case "source.namespace":
      return principalGen.namespace;
    case "source.principal":
      return principalGen.principal;
    case "request.auth.principal":
      return httpOnly(key, (v) => authnMetadata(["request.auth.principal"], v, false));
    case "request.auth.audiences":
      return httpOnly(key, (v) => authnMetadata(["request.auth.audiences"], v, true));
    case "request.auth.presenter":
      return httpOnly(key, (v) => authnMetadata(["request.auth.presenter"], v, false));
  }
  if (key.startsWith("request.headers")) {
    const h = headerName(key)!;
    return httpOnly(key, (v) => ({ header: istioHeaderMatcher(h.toLowerCase(), v) }));
  }
  if (key.startsWith("request.auth.claims")) {
    const path = claimPath(key)!;
    return httpOnly(key, (v) => authnMetadata(["request.auth.claims", ...path], v, true));
  }
  return undefined;
}

function whenPermission(key: string): Gen<RbacPermission> {
  switch (key) {
    case "destination.ip":
      return (v) => ({ destinationIp: cidrOf(v) });
    case "destination.port":
      return (v) => ({ destinationPort: Number(v) });
    case "connection.sni":
      return (v) => ({ requestedServerName: istioStringMatcher(v) });
  }
  // experimental.envoy.filters.*: Envoy dynamic metadata of other filters, which this proxy does
  // not produce; validation warned. Nothing can match it.
  return () => {
    throw new HttpOnly(`"${key}" is not available in this proxy`);
  };
}

const permissionGen = {
  host: httpOnly<RbacPermission>("hosts", (v) => ({ header: istioHostMatcher(v) })),
  method: httpOnly<RbacPermission>("methods", (v) => ({ header: istioHeaderMatcher(":method", v) })),
  path: httpOnly<RbacPermission>("paths", (v) => (isPathTemplate(v) ? { uriTemplate: { pathTemplate: envoyPathTemplate(v) } } : { urlPath: { path: istioStringMatcher(v) } })),
  port: ((v: string) => ({ destinationPort: Number(v) })) as Gen<RbacPermission>,
};

/** Envoy's `and_rules` with at least one entry; `any` when empty. */
function andPermissions(xs: RbacPermission[]): RbacPermission {
  return { andRules: { rules: xs.length === 0 ? [{ any: true }] : xs } };
}

function andPrincipals(xs: RbacPrincipal[]): RbacPrincipal {
  return { andIds: { ids: xs.length === 0 ? [{ any: true }] : xs } };
}

/** One field's matchers: OR of values, NOT(OR) of notValues. HttpOnly values: thrown for ALLOW, dropped otherwise. */
function generate<T>(f: Field<T>, forTCP: boolean, allow: boolean, or: (xs: T[]) => T, not: (x: T) => T): T[] {
  const out: T[] = [];
  const each = (vs: string[] | undefined): T[] => {
    const r: T[] = [];
    for (const v of vs ?? []) {
      try {
        r.push(f.gen(v, forTCP));
      } catch (e) {
        if (!(e instanceof HttpOnly) || allow) throw e;
      }
    }
    return r;
  };
  const vs = each(f.values);
  if (vs.length > 0) out.push(or(vs));
  const nvs = each(f.notValues);
  if (nvs.length > 0) out.push(not(or(nvs)));
  return out;
}

const orPerm = (xs: RbacPermission[]): RbacPermission => ({ orRules: { rules: xs } });
const notPerm = (x: RbacPermission): RbacPermission => ({ notRule: x });
const orId = (xs: RbacPrincipal[]): RbacPrincipal => ({ orIds: { ids: xs } });
const notId = (x: RbacPrincipal): RbacPrincipal => ({ notId: x });

function has(vs: string[] | undefined, nvs: string[] | undefined): boolean {
  return (vs?.length ?? 0) > 0 || (nvs?.length ?? 0) > 0;
}

/**
 * The Envoy policy for one rule, or throws HttpOnly (an ALLOW rule that cannot apply to TCP: the
 * caller drops the rule) — the message says why.
 */
export function buildRbacPolicy(rule: AuthzRule, forTCP: boolean, allow: boolean, policyNamespace = ""): RbacPolicy {
  const basePrincipal: Array<Field<RbacPrincipal>> = [];
  const basePermission: Array<Field<RbacPermission>> = [];
  for (const w of rule.when) {
    const pg = whenPrincipal(w.key, policyNamespace);
    if (pg !== undefined) basePrincipal.push({ key: w.key, gen: pg, values: w.values, notValues: w.notValues });
    else basePermission.push({ key: w.key, gen: whenPermission(w.key), values: w.values, notValues: w.notValues });
  }
  const principalLists: Array<Array<Field<RbacPrincipal>>> = [];
  for (const s of rule.from) {
    const f: Array<Field<RbacPrincipal>> = [];
    // istiod's insertFront order: principals, requestPrincipals, serviceAccounts, namespaces, remoteIpBlocks, ipBlocks, then the when conditions.
    if (has(s.principals, s.notPrincipals)) f.push({ key: "source.principal", gen: principalGen.principal, values: s.principals, notValues: s.notPrincipals });
    if (has(s.requestPrincipals, s.notRequestPrincipals)) f.push({ key: "requestPrincipals", gen: httpOnly("requestPrincipals", (v) => authnMetadata(["request.auth.principal"], v, false)), values: s.requestPrincipals, notValues: s.notRequestPrincipals });
    if (has(s.serviceAccounts, s.notServiceAccounts)) f.push({ key: "source.serviceAccount", gen: serviceAccountGen(policyNamespace), values: s.serviceAccounts, notValues: s.notServiceAccounts });
    if (has(s.namespaces, s.notNamespaces)) f.push({ key: "source.namespace", gen: principalGen.namespace, values: s.namespaces, notValues: s.notNamespaces });
    if (has(s.remoteIpBlocks, s.notRemoteIpBlocks)) f.push({ key: "remote.ip", gen: principalGen.remoteIp, values: s.remoteIpBlocks, notValues: s.notRemoteIpBlocks });
    if (has(s.ipBlocks, s.notIpBlocks)) f.push({ key: "source.ip", gen: principalGen.srcIp, values: s.ipBlocks, notValues: s.notIpBlocks });
    principalLists.push([...f, ...basePrincipal]);
  }
  if (rule.from.length === 0) principalLists.push(basePrincipal);
  const permissionLists: Array<Array<Field<RbacPermission>>> = [];
  for (const o of rule.to) {
    const f: Array<Field<RbacPermission>> = [];
    // istiod's insertFront order: hosts, methods, paths, ports, then the when conditions.
    if (has(o.hosts, o.notHosts)) f.push({ key: "hosts", gen: permissionGen.host, values: o.hosts, notValues: o.notHosts });
    if (has(o.methods, o.notMethods)) f.push({ key: "methods", gen: permissionGen.method, values: o.methods, notValues: o.notMethods });
    if (has(o.paths, o.notPaths)) f.push({ key: "paths", gen: permissionGen.path, values: o.paths, notValues: o.notPaths });
    if (has(o.ports, o.notPorts)) f.push({ key: "ports", gen: permissionGen.port, values: o.ports, notValues: o.notPorts });
    permissionLists.push([...f, ...basePermission]);
  }
  if (rule.to.length === 0) permissionLists.push(basePermission);
  return {
    permissions: permissionLists.map((fs) => andPermissions(fs.flatMap((f) => generate(f, forTCP, allow, orPerm, notPerm)))),
    principals: principalLists.map((fs) => andPrincipals(fs.flatMap((f) => generate(f, forTCP, allow, orId, notId)))),
  };
}

export { HttpOnly as AuthzHttpOnlyError };
