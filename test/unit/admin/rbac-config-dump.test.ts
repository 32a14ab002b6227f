// config_dump of AuthorizationPolicy results: Envoy's RBAC filter JSON (http and network), snake_case,
// in the chains where istiod puts them.

import { describe, expect, it } from "vitest";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { run, doc } from "../config/helpers.js";

describe("config_dump of RBAC filters", () => {
  it("HTTP and network RBAC with Envoy's type URLs, actions (ALLOW omitted as the zero value) and matchers", () => {
    const yaml =
      doc("Sidecar", "default", "foo", "  ingress:\n  - port: {number: 8080, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:18080\n  - port: {number: 9000, protocol: TCP, name: tcp}\n    defaultEndpoint: 127.0.0.1:19000") +
      doc("AuthorizationPolicy", "deny", "foo", "  action: DENY\n  rules: [{from: [{source: {principals: [cluster.local/ns/a/sa/b]}}], to: [{operation: {ports: ['9000']}}], when: [{key: 'request.auth.claims[groups]', values: [g]}]}]", "security.istio.io/v1") +
      doc("AuthorizationPolicy", "allow", "foo", "  rules: [{from: [{source: {ipBlocks: [10.0.0.0/8]}}], to: [{operation: {paths: [/a]}}]}]", "security.istio.io/v1");
    const r = run(yaml, { namespace: "foo", proxyLabels: { app: "x" } });
    expect(r.messages).toEqual([]);
    const tcp = listenerJson(r.snapshot.listeners.find((l) => l.name === "0.0.0.0_9000")!) as { filter_chains: Array<{ filters: Array<{ name: string; typed_config: unknown }> }> };
    const filters = tcp.filter_chains[0]!.filters;
    expect(filters.map((f) => f.name)).toEqual(["envoy.filters.network.rbac", "envoy.filters.network.rbac", "istio.stats", "envoy.filters.network.tcp_proxy"]);
    expect(filters[0]!.typed_config).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
      rules: {
        action: "DENY",
        policies: {
          "ns[foo]-policy[deny]-rule[0]": {
            permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 9000 }] } }] } }],
            principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/a/sa/b" } } }] } }] } }],
          },
        },
      },
      shadow_rules_stat_prefix: "istio_dry_run_allow_",
      stat_prefix: "tcp.",
    });
    // The ALLOW rule's HTTP-only path drops it on TCP: an empty ALLOW set.
    expect(filters[1]!.typed_config).toEqual({ "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC", rules: { policies: {} }, shadow_rules_stat_prefix: "istio_dry_run_allow_", stat_prefix: "tcp." });
    const http = listenerJson(r.snapshot.listeners.find((l) => l.name === "0.0.0.0_8080")!) as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; typed_config?: unknown }> } }> }> };
    const hf = http.filter_chains[0]!.filters[0]!.typed_config.http_filters.filter((f) => f.name === "envoy.filters.http.rbac");
    expect(hf.map((f) => (f.typed_config as { rules: { action?: string } }).rules.action)).toEqual(["DENY", undefined]);
    expect((hf[0]!.typed_config as { "@type": string })["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC");
    expect(hf[0]!.typed_config).toMatchObject({
      rules: {
        policies: {
          "ns[foo]-policy[deny]-rule[0]": {
            principals: [{ and_ids: { ids: [{}, { or_ids: { ids: [{ metadata: { filter: "istio_authn", path: [{ key: "request.auth.claims" }, { key: "groups" }], value: { list_match: { one_of: { string_match: { exact: "g" } } } } } }] } }] } }],
          },
        },
      },
    });
    expect(hf[1]!.typed_config).toMatchObject({ rules: { policies: { "ns[foo]-policy[allow]-rule[0]": { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { exact: "/a" } } }] } }] } }], principals: [{ and_ids: { ids: [{ or_ids: { ids: [{ direct_remote_ip: { address_prefix: "10.0.0.0", prefix_len: 8 } }] } }] } }] } } } });
  });

  it("a path template is Envoy's uri_template extension (istiod's `uri-template` UriTemplateMatchConfig)", () => {
    const yaml =
      doc("Sidecar", "default", "foo", "  ingress:\n  - port: {number: 8080, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:18080") +
      doc("AuthorizationPolicy", "tmpl", "foo", "  rules: [{to: [{operation: {paths: ['/a/{*}/b/{**}']}}]}]", "security.istio.io/v1");
    const r = run(yaml, { namespace: "foo", proxyLabels: { app: "x" } });
    expect(r.messages).toEqual([]);
    const http = listenerJson(r.snapshot.listeners.find((l) => l.name === "0.0.0.0_8080")!) as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; typed_config?: unknown }> } }> }> };
    const hf = http.filter_chains[0]!.filters[0]!.typed_config.http_filters.find((f) => f.name === "envoy.filters.http.rbac")!;
    expect(hf.typed_config).toMatchObject({
      rules: { policies: { "ns[foo]-policy[tmpl]-rule[0]": { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ uri_template: { name: "uri-template", typed_config: { "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig", path_template: "/a/*/b/**" } } }] } }] } }] } } },
    });
  });
});
