// Envoy's RBAC filter configs (envoy.extensions.filters.{http,network}.rbac.v3.RBAC) → the model's
// RbacConfig. Every permission/principal kind istiod writes is mapped; a rule the model cannot
// evaluate (CEL conditions, matcher trees, port ranges, unknown filter-state keys) is an error:
// skipping part of an authorization rule would change who gets in.

import type { RbacConfig, RbacMetadataMatcher, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules, RbacValueMatcher } from "../model/rbac.js";
import { at, bool, checkFields, cidrRange, DecodeState, enumOf, headerMatcher, list, obj, str, stringMatcher, typedConfig, uint } from "./decode-common.js";
import type { Json } from "./decoded.js";

/**
 * Istio's filter-state key for the peer's SPIFFE identity (istiod >= 1.22 writes principals as
 * `filter_state {key: "io.istio.peer_principal", string_match}`): for a sidecar it is the peer
 * certificate's URI SAN, which is exactly what `authenticated.principal_name` matches.
 */
const PEER_PRINCIPAL_KEY = "io.istio.peer_principal";

function valueMatcher(v: unknown, path: string, st: DecodeState): RbacValueMatcher | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return st.error(path, "a value matcher is required");
  checkFields(o, path, st, ["string_match", "list_match", "present_match"], {
    null_match: "null_match is not supported by Outrigger",
    double_match: "double_match is not supported by Outrigger",
    bool_match: "bool_match is not supported by Outrigger",
    or_match: "or_match value matchers are not supported by Outrigger",
  });
  if (o.string_match !== undefined) {
    const m = stringMatcher(o.string_match, at(path, "string_match"), st);
    return m === undefined ? undefined : { stringMatch: m };
  }
  if (o.list_match !== undefined) {
    const lo = obj(o.list_match, at(path, "list_match"), st);
    const one = lo === undefined ? undefined : valueMatcher(lo.one_of, at(at(path, "list_match"), "one_of"), st);
    return one === undefined ? undefined : { listMatch: { oneOf: one } };
  }
  if (o.present_match !== undefined) return { presentMatch: bool(o.present_match, at(path, "present_match"), st) === true };
  return undefined;
}

function metadataMatcher(v: unknown, path: string, st: DecodeState): RbacMetadataMatcher | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["filter", "path", "value", "invert"]);
  if (bool(o.invert, at(path, "invert"), st) === true) return st.error(at(path, "invert"), "inverted metadata matchers are not supported by Outrigger");
  const filter = str(o.filter, at(path, "filter"), st) ?? "";
  const keys: string[] = [];
  list(o.path, at(path, "path"), st).forEach((s, i) => {
    const so = obj(s, at(at(path, "path"), i), st);
    const k = so === undefined ? undefined : str(so.key, at(at(at(path, "path"), i), "key"), st);
    if (k !== undefined) keys.push(k);
  });
  const value = valueMatcher(o.value, at(path, "value"), st);
  return value === undefined ? undefined : { filter, path: keys, value };
}

const PERMISSION_FATAL: Record<string, string> = {
  destination_port_range: "destination_port_range is not supported by Outrigger",
  matcher: "extension permission matchers are not supported by Outrigger",
  sourced_metadata: "sourced_metadata is not supported by Outrigger",
};

export function decodePermission(v: unknown, path: string, st: DecodeState): RbacPermission | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const keys = Object.keys(o);
  if (keys.length !== 1) return st.error(path, `exactly one permission rule must be set, got ${keys.length === 0 ? "none" : keys.join(", ")}`);
  const k = keys[0]!;
  const p = at(path, k);
  const rules = (field: string): RbacPermission[] | undefined => {
    const ro = obj(o[k], p, st);
    if (ro === undefined) return undefined;
    checkFields(ro, p, st, [field]);
    const out: RbacPermission[] = [];
    list(ro[field], at(p, field), st).forEach((r, i) => {
      const x = decodePermission(r, at(at(p, field), i), st);
      if (x !== undefined) out.push(x);
    });
    return out;
  };
  switch (k) {
    case "any":
      return bool(o.any, p, st) === true ? { any: true } : st.error(p, "any must be true");
    case "and_rules": {
      const r = rules("rules");
      return r && { andRules: { rules: r } };
    }
    case "or_rules": {
      const r = rules("rules");
      return r && { orRules: { rules: r } };
    }
    case "not_rule": {
      const r = decodePermission(o.not_rule, p, st);
      return r && { notRule: r };
    }
    case "header": {
      const h = headerMatcher(o.header, p, st);
      return h && { header: h };
    }
    case "url_path": {
      const uo = obj(o.url_path, p, st);
      if (uo === undefined) return undefined;
      checkFields(uo, p, st, ["path", "ignore_case"]);
      const m = stringMatcher(uo.path, at(p, "path"), st);
      if (m !== undefined && bool(uo.ignore_case, at(p, "ignore_case"), st) === true) m.ignoreCase = true;
      return m && { urlPath: { path: m } };
    }
    case "uri_template": {
      const tc = typedConfig(obj(o.uri_template, p, st)?.typed_config, at(p, "typed_config"), st);
      if (tc === undefined) return undefined;
      if (tc.type !== "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig") return st.error(at(p, "typed_config"), `uri_template type ${tc.type} is not supported`);
      const t = str(tc.fields.path_template, at(at(p, "typed_config"), "path_template"), st);
      return t === undefined ? undefined : { uriTemplate: { pathTemplate: t } };
    }
    case "destination_ip": {
      const c = cidrRange(o.destination_ip, p, st);
      return c && { destinationIp: c };
    }
    case "destination_port": {
      const n = uint(o.destination_port, p, st, 65535);
      return n === undefined ? undefined : { destinationPort: n };
    }
    case "requested_server_name": {
      const m = stringMatcher(o.requested_server_name, p, st);
      return m && { requestedServerName: m };
    }
    case "metadata": {
      const m = metadataMatcher(o.metadata, p, st);
      return m && { metadata: m };
    }
  }
  return st.error(p, PERMISSION_FATAL[k] ?? `permission rule ${k} is not supported by Outrigger`);
}

export function decodePrincipal(v: unknown, path: string, st: DecodeState): RbacPrincipal | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const keys = Object.keys(o);
  if (keys.length !== 1) return st.error(path, `exactly one principal identifier must be set, got ${keys.length === 0 ? "none" : keys.join(", ")}`);
  const k = keys[0]!;
  const p = at(path, k);
  const ids = (): RbacPrincipal[] | undefined => {
    const ro = obj(o[k], p, st);
    if (ro === undefined) return undefined;
    checkFields(ro, p, st, ["ids"]);
    const out: RbacPrincipal[] = [];
    list(ro.ids, at(p, "ids"), st).forEach((r, i) => {
      const x = decodePrincipal(r, at(at(p, "ids"), i), st);
      if (x !== undefined) out.push(x);
    });
    return out;
  };
  switch (k) {
    case "any":
      return bool(o.any, p, st) === true ? { any: true } : st.error(p, "any must be true");
    case "and_ids": {
      const r = ids();
      return r && { andIds: { ids: r } };
    }
    case "or_ids": {
      const r = ids();
      return r && { orIds: { ids: r } };
    }
    case "not_id": {
      const r = decodePrincipal(o.not_id, p, st);
      return r && { notId: r };
    }
    case "authenticated": {
      const ao = obj(o.authenticated, p, st);
      if (ao === undefined) return undefined;
      checkFields(ao, p, st, ["principal_name"]);
      if (ao.principal_name === undefined) return { authenticated: {} };
      const m = stringMatcher(ao.principal_name, at(p, "principal_name"), st);
      return m && { authenticated: { principalName: m } };
    }
    case "filter_state": {
      const fo = obj(o.filter_state, p, st);
      if (fo === undefined) return undefined;
      checkFields(fo, p, st, ["key", "string_match"], { address_match: "filter_state address_match is not supported by Outrigger" });
      const key = str(fo.key, at(p, "key"), st);
      if (key !== PEER_PRINCIPAL_KEY) return st.error(at(p, "key"), `filter state key ${JSON.stringify(key)} is not supported (only ${PEER_PRINCIPAL_KEY})`);
      const m = stringMatcher(fo.string_match, at(p, "string_match"), st);
      return m && { authenticated: { principalName: m } };
    }
    case "source_ip":
    case "direct_remote_ip": {
      const c = cidrRange(o[k], p, st);
      return c && { directRemoteIp: c };
    }
    case "remote_ip": {
      const c = cidrRange(o.remote_ip, p, st);
      return c && { remoteIp: c };
    }
    case "header": {
      const h = headerMatcher(o.header, p, st);
      return h && { header: h };
    }
    case "metadata": {
      const m = metadataMatcher(o.metadata, p, st);
      return m && { metadata: m };
    }
  }
  return st.error(p, `principal identifier ${k} is not supported by Outrigger`);
}

function rules(v: unknown, path: string, st: DecodeState): RbacRules | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["action", "policies"], { audit_logging_options: "RBAC audit logging is not supported by Outrigger" });
  const action = enumOf(o.action ?? "ALLOW", ["ALLOW", "DENY", "LOG"] as const, at(path, "action"), st);
  const policies: Record<string, RbacPolicy> = {};
  const po = obj(o.policies, at(path, "policies"), st) ?? {};
  for (const [name, pv] of Object.entries(po)) {
    const pp = at(at(path, "policies"), name);
    const pol = obj(pv, pp, st);
    if (pol === undefined) continue;
    checkFields(pol, pp, st, ["permissions", "principals"], {
      condition: "CEL conditions in RBAC policies are not supported by Outrigger",
      checked_condition: "CEL conditions in RBAC policies are not supported by Outrigger",
      cel_config: "CEL conditions in RBAC policies are not supported by Outrigger",
    });
    const permissions: RbacPermission[] = [];
    list(pol.permissions, at(pp, "permissions"), st).forEach((x, i) => {
      const d = decodePermission(x, at(at(pp, "permissions"), i), st);
      if (d !== undefined) permissions.push(d);
    });
    const principals: RbacPrincipal[] = [];
    list(pol.principals, at(pp, "principals"), st).forEach((x, i) => {
      const d = decodePrincipal(x, at(at(pp, "principals"), i), st);
      if (d !== undefined) principals.push(d);
    });
    policies[name] = { permissions, principals };
  }
  return action === undefined ? undefined : { action, policies };
}

/** The fields of an RBAC typed_config (no "@type"); `network` for envoy.filters.network.rbac. */
export function decodeRbac(o: Json, path: string, st: DecodeState, network: boolean): RbacConfig | undefined {
  checkFields(o, path, st, ["rules", "shadow_rules", "shadow_rules_stat_prefix", ...(network ? ["stat_prefix"] : [])], {
    matcher: "RBAC matcher trees are not supported by Outrigger (use rules)",
    shadow_matcher: "RBAC matcher trees are not supported by Outrigger (use shadow_rules)",
  }, {
    rules_stat_prefix: "rules_stat_prefix is not supported; the default stat names apply",
    track_per_rule_stats: "per-rule stats are not supported; ignored",
    enforcement_type: "enforcement_type is not supported: connections are checked once, on their first bytes",
    delay_deny: "delay_deny is not supported: denied connections are closed at once",
  });
  const c: RbacConfig = {};
  if (network) c.statPrefix = str(o.stat_prefix, at(path, "stat_prefix"), st) ?? "";
  if (o.rules !== undefined) c.rules = rules(o.rules, at(path, "rules"), st);
  if (o.shadow_rules !== undefined) c.shadowRules = rules(o.shadow_rules, at(path, "shadow_rules"), st);
  const sp = str(o.shadow_rules_stat_prefix, at(path, "shadow_rules_stat_prefix"), st);
  if (sp !== undefined && sp !== "") c.shadowRulesStatPrefix = sp;
  return c;
}
