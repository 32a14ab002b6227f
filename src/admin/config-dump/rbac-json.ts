// Envoy RBAC filter configs as config_dump JSON (envoy.extensions.filters.{http,network}.rbac.v3.RBAC,
// snake_case, proto3 JSON: the ALLOW action is the enum's zero value and is left out).

import type { RbacConfig, RbacMetadataMatcher, RbacPermission, RbacPrincipal, RbacRules, RbacValueMatcher } from "../../config/model/rbac.js";
import { cidrRange, compact, headerMatcher, stringMatcher, typeUrl, type Json } from "./envoy-json.js";

function valueJson(v: RbacValueMatcher): Json {
  if (v.stringMatch !== undefined) return { string_match: stringMatcher(v.stringMatch) };
  if (v.listMatch !== undefined) return { list_match: { one_of: valueJson(v.listMatch.oneOf) } };
  return { present_match: v.presentMatch === true };
}

function metadataJson(m: RbacMetadataMatcher): Json {
  return { filter: m.filter, path: m.path.map((key) => ({ key })), value: valueJson(m.value) };
}

function permissionJson(p: RbacPermission): Json {
  if (p.any === true) return { any: true };
  if (p.andRules !== undefined) return { and_rules: { rules: p.andRules.rules.map(permissionJson) } };
  if (p.orRules !== undefined) return { or_rules: { rules: p.orRules.rules.map(permissionJson) } };
  if (p.notRule !== undefined) return { not_rule: permissionJson(p.notRule) };
  if (p.header !== undefined) return { header: headerMatcher(p.header) };
  if (p.urlPath !== undefined) return { url_path: { path: stringMatcher(p.urlPath.path) } };
  if (p.uriTemplate !== undefined) return { uri_template: { name: "uri-template", typed_config: { "@type": typeUrl("envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig"), path_template: p.uriTemplate.pathTemplate } } };
  if (p.destinationIp !== undefined) return { destination_ip: cidrRange(p.destinationIp) };
  if (p.destinationPort !== undefined) return { destination_port: p.destinationPort };
  if (p.requestedServerName !== undefined) return { requested_server_name: stringMatcher(p.requestedServerName) };
  if (p.metadata !== undefined) return { metadata: metadataJson(p.metadata) };
  return {};
}

function principalJson(p: RbacPrincipal): Json {
  if (p.any === true) return { any: true };
  if (p.andIds !== undefined) return { and_ids: { ids: p.andIds.ids.map(principalJson) } };
  if (p.orIds !== undefined) return { or_ids: { ids: p.orIds.ids.map(principalJson) } };
  if (p.notId !== undefined) return { not_id: principalJson(p.notId) };
  if (p.authenticated !== undefined) return { authenticated: compact({ principal_name: p.authenticated.principalName !== undefined ? stringMatcher(p.authenticated.principalName) : undefined }) };
  if (p.directRemoteIp !== undefined) return { direct_remote_ip: cidrRange(p.directRemoteIp) };
  if (p.remoteIp !== undefined) return { remote_ip: cidrRange(p.remoteIp) };
  if (p.header !== undefined) return { header: headerMatcher(p.header) };
  if (p.metadata !== undefined) return { metadata: metadataJson(p.metadata) };
  return {};
}

function rulesJson(r: RbacRules): Json {
  const policies: Json = {};
  for (const [name, p] of Object.entries(r.policies)) policies[name] = { permissions: p.permissions.map(permissionJson), principals: p.principals.map(principalJson) };
  return compact({ action: r.action === "ALLOW" ? undefined : r.action, policies });
}

/** `typed_config` of envoy.filters.http.rbac / envoy.filters.network.rbac. */
export function rbacJson(c: RbacConfig, network: boolean): Json {
  return compact({
    "@type": typeUrl(network ? "envoy.extensions.filters.network.rbac.v3.RBAC" : "envoy.extensions.filters.http.rbac.v3.RBAC"),
    rules: c.rules !== undefined ? rulesJson(c.rules) : undefined,
    shadow_rules: c.shadowRules !== undefined ? rulesJson(c.shadowRules) : undefined,
    shadow_rules_stat_prefix: c.shadowRulesStatPrefix,
    stat_prefix: network ? (c.statPrefix ?? "") : undefined,
  });
}
