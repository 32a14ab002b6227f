// Istio AuthorizationPolicy (security.istio.io/v1, v1beta1) → Envoy RBAC on this proxy's inbound
// chains, as istiod builds it (pilot/pkg/security/authz/builder): the policies that select the
// proxy (its namespace with a matching or no selector; the root namespace mesh-wide) are grouped
// by action and each group becomes one RBAC filter, in istiod's order AUDIT (action LOG), DENY,
// ALLOW — an `envoy.filters.http.rbac` per group in every inbound HTTP connection manager, an
// `envoy.filters.network.rbac` (stat prefix `tcp.`) per group before tcp_proxy on every inbound
// TCP chain. Policy names are `ns[NS]-policy[NAME]-rule[I]`. A policy without rules gets one
// never-matching policy (`rule[0]`): an ALLOW policy without rules therefore denies everything.
// CUSTOM (ext_authz) is validated and reported, not enforced; targetRef(s) policies apply to
// gateways and waypoints, never to a sidecar.

import { isIP } from "node:net";
import type { RbacConfig, RbacPolicy, RbacRules } from "../model/rbac.js";
import { HTTP_CONNECTION_MANAGER, HTTP_RBAC_FILTER, NETWORK_RBAC_FILTER, TCP_PROXY, type FilterChain, type HttpConnectionManager, type HttpFilterConfig, type NetworkFilter } from "../model/types.js";
import { AuthzHttpOnlyError, buildRbacPolicy, claimPath, headerName, type AuthzCondition, type AuthzOperation, type AuthzRule, type AuthzSource } from "./authz-rbac-builder.js";
import type { FieldPath } from "./doc-issues.js";
import { insertHttpFilter } from "./http-filter-order.js";
import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext } from "./security.js";
import type { Obj, SpecReader } from "./spec-reader.js";
import { BLACK_HOLE_CLUSTER } from "./virtual-listeners.js";
import { labelsMatch } from "./workload-selector.js";
import { isPathTemplate, pathTemplateError } from "./authz-path-template.js";
import { parsePolicyTarget, TARGETED_NOT_APPLIED } from "./policy-target.js";

export type AuthzAction = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
const ACTIONS: readonly AuthzAction[] = ["ALLOW", "DENY", "AUDIT", "CUSTOM"];

export interface ParsedAuthorizationPolicy {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
  /** selector.matchLabels; undefined = every workload of the namespace (mesh-wide from the root namespace). */
  selector?: Record<string, string>;
  /** targetRef / targetRefs were set: the policy is for gateways / waypoints. */
  targeted?: boolean;
  action: AuthzAction;
  /** CUSTOM: the extension provider's name. */
  provider?: string;
  /** The `istio.io/dry-run` annotation is true: shadow rules, evaluated and counted, never enforced. */
  dryRun?: boolean;
  rules: AuthzRule[];
}

const SOURCE_FIELDS = ["principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"] as const;
const OPERATION_FIELDS = ["hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"] as const;
const IP_FIELDS = new Set(["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"]);

/** The condition keys istiod accepts (pkg/config/security ValidateAttribute). */
const PLAIN_KEYS = new Set(["source.ip", "remote.ip", "source.namespace", "source.serviceAccount", "source.principal", "request.auth.principal", "request.auth.audiences", "request.auth.presenter", "destination.ip", "destination.port", "connection.sni"]);
const IP_KEYS = new Set(["source.ip", "remote.ip", "destination.ip"]);

function validIpOrCidr(v: string): boolean {
  const slash = v.indexOf("/");
  if (slash < 0) return isIP(v) !== 0;
  const ip = v.slice(0, slash);
  const len = v.slice(slash + 1);
  const fam = isIP(ip);
  if (fam === 0 || !/^\d+$/.test(len)) return false;
  return Number(len) <= (fam === 4 ? 32 : 128);
}

function validPort(v: string, min: number): boolean {
  return /^\d+$/.test(v) && Number(v) >= min && Number(v) <= 65535;
}

/** Values of one string-list field; empty strings are refused as istiod does. */
function values(r: SpecReader, o: Obj, key: string, p: FieldPath): string[] | undefined {
  const vs = r.strArr(o, key, p);
  if (vs === undefined) return undefined;
  vs.forEach((v, i) => {
    if (v === "") r.issues.error([...p, key, i], `empty value not allowed, found in ${key}`);
  });
  return vs;
}

/** istiod security.CheckServiceAccount: `sa` or `ns/sa`, no wildcard, at most 320 characters. */
function serviceAccountError(v: string): string | undefined {
  if (v.includes("*")) return "wildcard not allowed";
  const slash = v.indexOf("/");
  if (slash !== v.lastIndexOf("/")) return `expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}"`;
  if (v.length > 320) return `value cannot exceed 320 characters, found "${v}"`;
  if (slash === 0) return `expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace "${v}"`;
  if (slash === v.length - 1) return `expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount "${v}"`;
  return undefined;
}

function checkServiceAccounts(r: SpecReader, vs: string[] | undefined, p: FieldPath, key: string | undefined): void {
  (vs ?? []).forEach((v, i) => {
    const why = v === "" ? undefined : serviceAccountError(v);
    if (why !== undefined) r.issues.error(key === undefined ? p : [...p, key, i], `${why} in ${key ?? "source.serviceAccount"}`);
  });
}

function checkWildcard(r: SpecReader, vs: string[] | undefined, p: FieldPath, key: string): void {
  (vs ?? []).forEach((v, i) => {
    const inner = v.length > 1 ? v.slice(1, -1) : "";
    if (inner.includes("*")) r.issues.error([...p, key, i], `wildcard "*" is only supported as a prefix or suffix, found "${v}"`);
  });
}

function parseSource(r: SpecReader, v: unknown, p: FieldPath): AuthzSource | undefined {
  if (v === undefined || v === null) {
    r.issues.error(p, "`from.source` must not be nil");
    return undefined;
  }
  const o = r.obj(v, p, SOURCE_FIELDS);
  if (!o) return undefined;
  const s: AuthzSource = {};
  for (const k of SOURCE_FIELDS) {
    const vs = values(r, o, k, p);
    if (vs === undefined) continue;
    if (IP_FIELDS.has(k)) vs.forEach((x, i) => x !== "" && !validIpOrCidr(x) && r.issues.error([...p, k, i], `invalid IP address or CIDR range: "${x}"`));
    else if (k === "serviceAccounts" || k === "notServiceAccounts") checkServiceAccounts(r, vs, p, k);
    else checkWildcard(r, vs, p, k);
    s[k] = vs;
  }
  const n = (vs: string[] | undefined): number => vs?.length ?? 0;
  // istiod: a service account already names the namespace and the principal.
  if (n(s.principals) + n(s.notPrincipals) + n(s.namespaces) + n(s.notNamespaces) > 0 && n(s.serviceAccounts) + n(s.notServiceAccounts) > 0) r.issues.error(p, "cannot set serviceAccounts with namespaces or principals");
  if (Object.keys(s).length === 0 && Object.keys(o).length === 0) r.issues.error(p, "`from.source` must not be empty");
  return s;
}

function parseOperation(r: SpecReader, v: unknown, p: FieldPath): AuthzOperation | undefined {
  if (v === undefined || v === null) {
    r.issues.error(p, "`to.operation` must not be nil");
    return undefined;
  }
  const o = r.obj(v, p, OPERATION_FIELDS);
  if (!o) return undefined;
  const op: AuthzOperation = {};
  for (const k of OPERATION_FIELDS) {
    const vs = values(r, o, k, p);
    if (vs === undefined) continue;
    if (k === "ports" || k === "notPorts") vs.forEach((x, i) => x !== "" && !validPort(x, 1) && r.issues.error([...p, k, i], `invalid port: "${x}"`));
    else if (k === "paths" || k === "notPaths") {
      vs.forEach((x, i) => {
        const why = x === "" ? undefined : pathTemplateError(x, k);
        if (why !== undefined) r.issues.error([...p, k, i], why);
      });
      // A template's `*` handling is the template's own; other paths take istiod's wildcard rule.
      checkWildcard(r, vs.filter((x) => !isPathTemplate(x)), p, k);
    } else checkWildcard(r, vs, p, k);
    op[k] = vs;
  }
  if (Object.keys(o).length === 0) r.issues.error(p, "`to.operation` must not be empty");
  return op;
}

function parseCondition(r: SpecReader, v: unknown, p: FieldPath): AuthzCondition | undefined {
  const o = r.obj(v, p, ["key", "values", "notValues"]);
  if (!o) return undefined;
  const key = r.str(o, "key", p) ?? "";
  const vs = values(r, o, "values", p);
  const nvs = values(r, o, "notValues", p);
  if (key === "") {
    r.issues.error([...p, "key"], "`key` must not be empty");
    return undefined;
  }
  if ((vs?.length ?? 0) === 0 && (nvs?.length ?? 0) === 0) r.issues.error(p, `at least one of values or notValues must be set for key ${key}`);
  const all = [...(vs ?? []), ...(nvs ?? [])];
  if (PLAIN_KEYS.has(key)) {
    if (IP_KEYS.has(key)) for (const x of all) if (!validIpOrCidr(x)) r.issues.error(p, `invalid IP address or CIDR range for ${key}: "${x}"`);
    if (key === "destination.port") for (const x of all) if (!validPort(x, 0)) r.issues.error(p, `invalid port for ${key}: "${x}"`);
    if (key === "source.serviceAccount") checkServiceAccounts(r, all, p, undefined);
  } else if (key.startsWith("request.headers")) {
    if (headerName(key) === undefined) r.issues.error([...p, "key"], `invalid attribute ${key}: want request.headers[<name>]`);
  } else if (key.startsWith("request.auth.claims")) {
    if (claimPath(key) === undefined) r.issues.error([...p, "key"], `invalid attribute ${key}: want request.auth.claims[<name>] (nested: [a][b])`);
  } else if (key.startsWith("experimental.envoy.filters.")) {
    r.issues.warn([...p, "key"], `${key} reads another Envoy filter's dynamic metadata, which this proxy does not produce: the condition never matches`);
  } else {
    r.issues.error([...p, "key"], `unknown attribute: ${key}`);
  }
  return { key, ...(vs !== undefined ? { values: vs } : {}), ...(nvs !== undefined ? { notValues: nvs } : {}) };
}

function parseRule(r: SpecReader, v: unknown, p: FieldPath): AuthzRule {
  const rule: AuthzRule = { from: [], to: [], when: [] };
  if (v === null || v === undefined) {
    r.issues.error(p, "rule must not be nil");
    return rule;
  }
  const o = r.obj(v, p, ["from", "to", "when"]);
  if (!o) return rule;
  (r.arr(o, "from", p) ?? []).forEach((f, i) => {
    const fo = r.obj(f, [...p, "from", i], ["source"]);
    const s = fo ? parseSource(r, fo["source"], [...p, "from", i, "source"]) : undefined;
    if (s) rule.from.push(s);
  });
  (r.arr(o, "to", p) ?? []).forEach((t, i) => {
    const to = r.obj(t, [...p, "to", i], ["operation"]);
    const op = to ? parseOperation(r, to["operation"], [...p, "to", i, "operation"]) : undefined;
    if (op) rule.to.push(op);
  });
  (r.arr(o, "when", p) ?? []).forEach((w, i) => {
    const c = parseCondition(r, w, [...p, "when", i]);
    if (c) rule.when.push(c);
  });
  return rule;
}

export const DRY_RUN_ANNOTATION = "istio.io/dry-run";

/** Go's strconv.ParseBool, which istiod applies to the annotation. */
function parseGoBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

export function parseAuthorizationPolicy(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string, annotations?: Record<string, string>): ParsedAuthorizationPolicy | undefined {
  const before = r.issues.errorCount;
  const o = r.obj(spec ?? {}, [], ["selector", "targetRef", "targetRefs", "action", "provider", "rules"]);
  if (!o) return undefined;
  const action = r.enumOf(o, "action", [], ACTIONS) ?? "ALLOW";
  const out: ParsedAuthorizationPolicy = { ref, action, rules: [], ...(createdAt !== undefined ? { createdAt } : {}), ...parsePolicyTarget(r, o) };
  const provider = o["provider"];
  if (action === "CUSTOM") {
    const po = r.obj(provider, ["provider"], ["name"]);
    const name = po ? r.str(po, "name", ["provider"]) : undefined;
    if (name === undefined || name === "") r.issues.error(["provider"], "must specify provider when using CUSTOM action");
    else out.provider = name;
    r.issues.warn(["action"], "CUSTOM (external authorization) is not enforced by this proxy: requests are not sent to the provider");
  } else if (provider !== undefined && provider !== null) {
    r.issues.error(["provider"], "provider can only be used with CUSTOM action");
  }
  (r.arr(o, "rules", []) ?? []).forEach((x, i) => out.rules.push(parseRule(r, x, ["rules", i])));
  const dryRun = annotations?.[DRY_RUN_ANNOTATION];
  if (dryRun !== undefined) {
    const b = parseGoBool(dryRun);
    // istiod logs the parse error and enforces the policy.
    if (b === undefined) r.issues.warn([], `metadata.annotations["${DRY_RUN_ANNOTATION}"]: failed to parse "${dryRun}" as a boolean: the policy is enforced`);
    else if (b) out.dryRun = true;
  }
  if (action === "AUDIT") r.issues.warn(["action"], "AUDIT policies are evaluated and counted (rbac.logged), never enforced; this proxy writes no audit log");
  return r.issues.errorCount > before ? undefined : out;
}

/** istiod's policy name for rule `i`. */
export function rbacPolicyName(p: ParsedAuthorizationPolicy, i: number): string {
  return `ns[${p.ref.namespace}]-policy[${p.ref.name}]-rule[${i}]`;
}

/** istiod's rbacPolicyMatchNever: what a policy without rules contributes. */
export const MATCH_NEVER: RbacPolicy = { permissions: [{ notRule: { any: true } }], principals: [{ notId: { any: true } }] };

const RBAC_ACTION = { AUDIT: "LOG", DENY: "DENY", ALLOW: "ALLOW" } as const;

/** Whether `p` applies to this proxy, or why not. */
function selects(p: ParsedAuthorizationPolicy, ctx: SecurityContext): string | undefined {
  if (p.targeted === true) return TARGETED_NOT_APPLIED;
  const ns = p.ref.namespace;
  if (ns !== ctx.namespace && ns !== ctx.rootNamespace) return `namespace ${ns}: not this proxy's (${ctx.namespace})`;
  if (p.selector !== undefined && !labelsMatch(p.selector, ctx.proxyLabels)) return "selector does not match this proxy's labels";
  return undefined;
}

/** The RBAC rules of one action group, or undefined when the group is empty. */
export function buildRbacRules(policies: readonly ParsedAuthorizationPolicy[], action: "AUDIT" | "DENY" | "ALLOW", forTCP: boolean, skipped?: (name: string, why: string) => void): RbacRules | undefined {
  if (policies.length === 0) return undefined;
  const out: RbacRules = { action: RBAC_ACTION[action], policies: {} };
  for (const p of policies) {
    if (p.rules.length === 0) {
      out.policies[rbacPolicyName(p, 0)] = MATCH_NEVER;
      continue;
    }
    p.rules.forEach((rule, i) => {
      const name = rbacPolicyName(p, i);
      try {
        out.policies[name] = buildRbacPolicy(rule, forTCP, action === "ALLOW", p.ref.namespace);
      } catch (e) {
        if (!(e instanceof AuthzHttpOnlyError)) throw e;
        skipped?.(name, e.message);
      }
    });
  }
  return out;
}

/** istiod's shadow_rules_stat_prefix (model.RBACShadowRulesAllowStatPrefix / …Deny…). */
export const DRY_RUN_ALLOW_PREFIX = "istio_dry_run_allow_";
export const DRY_RUN_DENY_PREFIX = "istio_dry_run_deny_";

/**
 * istiod's shadowRuleStatPrefix(shadowRules): the prefix follows the shadow rules' action, and
 * without shadow rules Go reads the nil message's action as ALLOW, so every filter istiod writes
 * carries `istio_dry_run_allow_` unless it has DENY (deny prefix) or AUDIT (none) shadow rules.
 */
function shadowStatPrefix(shadow: RbacRules | undefined): string | undefined {
  switch (shadow?.action ?? "ALLOW") {
    case "ALLOW":
      return DRY_RUN_ALLOW_PREFIX;
    case "DENY":
      return DRY_RUN_DENY_PREFIX;
    default:
      return undefined;
  }
}

/**
 * The RBAC configs for one chain kind, in istiod's filter order (AUDIT, DENY, ALLOW): per action,
 * the enforced policies are `rules` and the dry-run ones `shadowRules` of the same filter.
 */
export function buildRbacConfigs(policies: readonly ParsedAuthorizationPolicy[], forTCP: boolean, skipped?: (name: string, why: string) => void): RbacConfig[] {
  const out: RbacConfig[] = [];
  for (const action of ["AUDIT", "DENY", "ALLOW"] as const) {
    const group = policies.filter((p) => p.action === action);
    const rules = buildRbacRules(
      group.filter((p) => p.dryRun !== true),
      action,
      forTCP,
      skipped,
    );
    const shadowRules = buildRbacRules(
      group.filter((p) => p.dryRun === true),
      action,
      forTCP,
      skipped,
    );
    if (rules === undefined && shadowRules === undefined) continue;
    const prefix = shadowStatPrefix(shadowRules);
    out.push({
      ...(forTCP ? { statPrefix: "tcp." } : {}),
      ...(rules !== undefined ? { rules } : {}),
      ...(shadowRules !== undefined ? { shadowRules } : {}),
      ...(prefix !== undefined ? { shadowRulesStatPrefix: prefix } : {}),
    });
  }
  return out;
}

/**
 * istiod's trust-domain handling (trustdomain.Bundle.ReplaceTrustDomainAliases): a principal whose
 * trust domain is `cluster.local` means "the local trust domain", so it is rewritten to the proxy's
 * (`--trust-domain`); principals starting with `*` do not enforce a trust domain and stay as written.
 */
export function localTrustDomain(p: ParsedAuthorizationPolicy, trustDomain: string): ParsedAuthorizationPolicy {
  if (trustDomain === "cluster.local") return p;
  const fix = (vs: string[] | undefined): string[] | undefined => vs?.map((v) => (v.startsWith("cluster.local/") ? trustDomain + v.slice("cluster.local".length) : v));
  const rules = p.rules.map((r) => ({
    from: r.from.map((s) => ({ ...s, ...(s.principals !== undefined ? { principals: fix(s.principals)! } : {}), ...(s.notPrincipals !== undefined ? { notPrincipals: fix(s.notPrincipals)! } : {}) })),
    to: r.to,
    when: r.when.map((c) => (c.key === "source.principal" ? { ...c, ...(c.values !== undefined ? { values: fix(c.values)! } : {}), ...(c.notValues !== undefined ? { notValues: fix(c.notValues)! } : {}) } : c)),
  }));
  return { ...p, rules };
}

function orderKey(p: ParsedAuthorizationPolicy, ctx: SecurityContext): string {
  // Root namespace first (istiod lists them first), then by age, then by name.
  return `${p.ref.namespace === ctx.rootNamespace && ctx.rootNamespace !== ctx.namespace ? 0 : 1}|${p.createdAt ?? ""}|${p.ref.namespace}/${p.ref.name}`;
}

/** Puts several RBAC filters at the RBAC place, in order (Envoy allows repeated filter names). */
function insertRbacFilters(hcm: HttpConnectionManager, configs: RbacConfig[]): void {
  hcm.httpFilters = hcm.httpFilters.filter((f) => f.name !== HTTP_RBAC_FILTER);
  if (configs.length === 0) return;
  insertHttpFilter(hcm, { name: HTTP_RBAC_FILTER, typedConfig: configs[0]! });
  const at = hcm.httpFilters.findIndex((f) => f.name === HTTP_RBAC_FILTER);
  const rest: HttpFilterConfig[] = configs.slice(1).map((c) => ({ name: HTTP_RBAC_FILTER, typedConfig: c }));
  hcm.httpFilters.splice(at + 1, 0, ...rest);
}

function isBlackHole(chain: FilterChain): boolean {
  const t = chain.filters[chain.filters.length - 1];
  return t !== undefined && t.name === TCP_PROXY && t.typedConfig.cluster === BLACK_HOLE_CLUSTER;
}

export function applyAuthorizationPolicies(resources: ReadonlyArray<ParsedSecurity<ParsedAuthorizationPolicy>>, ctx: SecurityContext): void {
  const applied: ParsedAuthorizationPolicy[] = [];
  for (const res of resources) {
    const p = res.value;
    const why = selects(p, ctx);
    if (why !== undefined) {
      ctx.summary.push(`${res.line}: not applied (${why})`);
      continue;
    }
    if (p.action === "CUSTOM") {
      ctx.summary.push(`${res.line}: CUSTOM (provider ${p.provider ?? "?"}) not enforced`);
      continue;
    }
    applied.push(localTrustDomain(p, ctx.security.trustDomain));
    const what = (p.action === "AUDIT" ? "AUDIT (logged, not enforced)" : p.action) + (p.dryRun === true ? " dry-run (shadow rules, not enforced)" : "");
    ctx.summary.push(`${res.line}: ${what}, ${p.rules.length === 0 ? (p.action === "ALLOW" ? "no rules (denies every request)" : "no rules (matches nothing)") : `${p.rules.length} rule(s)`} on inbound HTTP and TCP`);
  }
  if (applied.length === 0) return;
  applied.sort((a, b) => (orderKey(a, ctx) < orderKey(b, ctx) ? -1 : orderKey(a, ctx) > orderKey(b, ctx) ? 1 : 0));
  const tcpSkipped = new Set<string>();
  const http = buildRbacConfigs(applied, false);
  const tcp = buildRbacConfigs(applied, true, (name, why) => tcpSkipped.add(`${name}: ${why}`));
  for (const s of tcpSkipped) ctx.summary.push(`AuthorizationPolicy rule ${s}: the ALLOW rule is skipped on TCP filter chains`);
  for (const l of ctx.listeners) {
    if (l.trafficDirection !== "INBOUND") continue;
    const chains = [...l.filterChains, ...(l.defaultFilterChain !== undefined ? [l.defaultFilterChain] : [])];
    for (const chain of chains) {
      if (isBlackHole(chain)) continue;
      const terminal = chain.filters[chain.filters.length - 1];
      if (terminal === undefined) continue;
      if (terminal.name === HTTP_CONNECTION_MANAGER) insertRbacFilters(terminal.typedConfig, http);
      else if (terminal.name === TCP_PROXY) {
        const rbac: NetworkFilter[] = tcp.map((c) => ({ name: NETWORK_RBAC_FILTER, typedConfig: c }));
        chain.filters = [...chain.filters.filter((f) => f.name !== NETWORK_RBAC_FILTER && f !== terminal), ...rbac, terminal];
      }
    }
  }
}
