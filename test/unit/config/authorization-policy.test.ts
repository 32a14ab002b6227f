// AuthorizationPolicy → Envoy RBAC, as istiod builds it: selection, validation, policy shapes per
// field and condition key, filter order (AUDIT, DENY, ALLOW), HTTP-only fields on TCP chains, and
// the istio.io authz task samples through translate().

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RbacConfig } from "../../../src/config/model/rbac.js";
import type { FilterChain, HttpConnectionManager, Listener } from "../../../src/config/model/types.js";
import { doc, httpbinOpts, httpbinSidecar, run } from "./helpers.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const SAMPLES = sharedPath("istio-samples", "istio.io", "docs-tasks");
const sample = (p: string): string => readFileSync(`${SAMPLES}/${p}`, "utf8") + "\n---\n";

// HTTP 8080 and TCP 9000 / 9001 inbound ports of workload app=httpbin in foo.
const sidecar = httpbinSidecar;
const opts = httpbinOpts;
const ap = (name: string, body: string, ns = "foo"): string => doc("AuthorizationPolicy", name, ns, body, "security.istio.io/v1");

function listener(ls: Listener[], name: string): Listener {
  const l = ls.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no listener ${name}: ${ls.map((x) => x.name).join(", ")}`);
  return l;
}
function httpRbac(ls: Listener[]): Array<RbacConfig | undefined> {
  const hcm = listener(ls, "0.0.0.0_8080").filterChains[0]!.filters.at(-1)!.typedConfig as HttpConnectionManager;
  return hcm.httpFilters.filter((f) => f.name === "envoy.filters.http.rbac").map((f) => f.typedConfig as RbacConfig);
}
function tcpChain(ls: Listener[]): FilterChain {
  return listener(ls, "0.0.0.0_9000").filterChains[0]!;
}
function tcpRbac(ls: Listener[]): RbacConfig[] {
  return tcpChain(ls)
    .filters.filter((f) => f.name === "envoy.filters.network.rbac")
    .map((f) => f.typedConfig as RbacConfig);
}
const any = { any: true as const };

describe("AuthorizationPolicy translation", () => {
  it("no policies: no RBAC filter anywhere", () => {
    const r = run(sidecar, opts);
    expect(r.messages).toEqual([]);
    expect(httpRbac(r.snapshot.listeners)).toEqual([]);
    expect(tcpChain(r.snapshot.listeners).filters.map((f) => f.name)).toEqual(["envoy.filters.network.tcp_proxy"]);
  });

  it("allow-nothing (spec {}): an ALLOW filter with one never-matching policy on HTTP and TCP", () => {
    const r = run(sidecar + ap("allow-nothing", "  {}"), opts);
    expect(r.messages).toEqual([]);
    const never = { permissions: [{ notRule: any }], principals: [{ notId: any }] };
    // istiod writes the dry-run stat prefix on every RBAC filter (no shadow rules: Go reads the nil rules' action as ALLOW).
    expect(httpRbac(r.snapshot.listeners)).toEqual([{ rules: { action: "ALLOW", policies: { "ns[foo]-policy[allow-nothing]-rule[0]": never } }, shadowRulesStatPrefix: "istio_dry_run_allow_" }]);
    expect(tcpRbac(r.snapshot.listeners)).toEqual([{ statPrefix: "tcp.", rules: { action: "ALLOW", policies: { "ns[foo]-policy[allow-nothing]-rule[0]": never } }, shadowRulesStatPrefix: "istio_dry_run_allow_" }]);
    // Network RBAC comes before tcp_proxy; the HTTP filter sits before the router.
    expect(tcpChain(r.snapshot.listeners).filters.map((f) => f.name)).toEqual(["envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy"]);
    const hcm = listener(r.snapshot.listeners, "0.0.0.0_8080").filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
    expect(hcm.httpFilters.map((f) => f.name)).toEqual(["istio.metadata_exchange", "envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    expect(r.summary.some((l) => l.includes("allow-nothing") && l.includes("denies every request"))).toBe(true);
  });

  it("from.source fields: principals with spiffe://, namespaces as principal regex, ip blocks, request principals; to.operation: hosts, methods, paths, ports", () => {
    const r = run(
      sidecar +
        ap(
          "p",
          `  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep", "*", "prefix/*", "*/sa/x"]
        notPrincipals: ["cluster.local/ns/bad/sa/x"]
        namespaces: ["default", "ns-*"]
        ipBlocks: ["10.0.0.0/8", "192.168.1.1"]
        notRemoteIpBlocks: ["1.2.3.4"]
        requestPrincipals: ["iss/sub"]
    to:
    - operation:
        hosts: ["Example.com", "*.example.com"]
        methods: ["GET"]
        paths: ["/api/*", "*/info", "/exact"]
        notPorts: ["9999"]`,
        ),
      opts,
    );
    expect(r.messages).toEqual([]);
    const [allow] = httpRbac(r.snapshot.listeners);
    expect(allow!.rules!.action).toBe("ALLOW");
    const p = allow!.rules!.policies["ns[foo]-policy[p]-rule[0]"]!;
    expect(p.principals).toEqual([
      {
        andIds: {
          ids: [
            {
              orIds: {
                ids: [
                  { authenticated: { principalName: { exact: "spiffe://cluster.local/ns/default/sa/sleep" } } },
                  { authenticated: { principalName: { safeRegex: ".+" } } },
                  { authenticated: { principalName: { prefix: "spiffe://prefix/" } } },
                  { authenticated: { principalName: { safeRegex: "spiffe://.*/sa/x" } } },
                ],
              },
            },
            { notId: { orIds: { ids: [{ authenticated: { principalName: { exact: "spiffe://cluster.local/ns/bad/sa/x" } } }] } } },
            { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.principal"], value: { stringMatch: { exact: "iss/sub" } } } }] } },
            { orIds: { ids: [{ authenticated: { principalName: { safeRegex: ".*/ns/default/.*" } } }, { authenticated: { principalName: { safeRegex: ".*/ns/ns-.*/.*" } } }] } },
            { notId: { orIds: { ids: [{ remoteIp: { addressPrefix: "1.2.3.4", prefixLen: 32 } }] } } },
            { orIds: { ids: [{ directRemoteIp: { addressPrefix: "10.0.0.0", prefixLen: 8 } }, { directRemoteIp: { addressPrefix: "192.168.1.1", prefixLen: 32 } }] } },
          ],
        },
      },
    ]);
    expect(p.permissions).toEqual([
      {
        andRules: {
          rules: [
            { orRules: { rules: [{ header: { name: ":authority", stringMatch: { exact: "Example.com", ignoreCase: true } } }, { header: { name: ":authority", stringMatch: { suffix: ".example.com", ignoreCase: true } } }] } },
            { orRules: { rules: [{ header: { name: ":method", stringMatch: { exact: "GET" } } }] } },
            { orRules: { rules: [{ urlPath: { path: { prefix: "/api/" } } }, { urlPath: { path: { suffix: "/info" } } }, { urlPath: { path: { exact: "/exact" } } }] } },
            { notRule: { orRules: { rules: [{ destinationPort: 9999 }] } } },
          ],
        },
      },
    ]);
  });

  it("when conditions: principal-side keys join every source, permission-side keys every operation; nested claims; an empty rule matches everything", () => {
    const r = run(
      sidecar +
        ap(
          "w",
          `  action: DENY
  rules:
  - when:
    - {key: "request.headers[X-Token]", values: ["admin", "*"]}
    - {key: source.ip, notValues: ["10.1.0.0/16"]}
    - {key: remote.ip, values: ["10.2.0.1"]}
    - {key: source.namespace, values: [prod]}
    - {key: source.principal, values: ["td/ns/a/sa/b"]}
    - {key: request.auth.principal, values: ["iss/*"]}
    - {key: request.auth.audiences, values: ["aud1"]}
    - {key: request.auth.presenter, values: ["azp"]}
    - {key: "request.auth.claims[groups]", values: ["g1"]}
    - {key: "request.auth.claims[nested][key]", values: ["v"]}
    - {key: destination.ip, values: ["10.9.0.1"]}
    - {key: destination.port, values: ["8080"]}
    - {key: connection.sni, values: ["*.svc"]}
  - {}`,
        ),
      opts,
    );
    expect(r.messages).toEqual([]);
    const [deny] = httpRbac(r.snapshot.listeners);
    expect(deny!.rules!.action).toBe("DENY");
    const p = deny!.rules!.policies["ns[foo]-policy[w]-rule[0]"]!;
    const ids = p.principals[0]!.andIds!.ids;
    expect(ids).toEqual([
      { orIds: { ids: [{ header: { name: "x-token", stringMatch: { exact: "admin" } } }, { header: { name: "x-token", presentMatch: true } }] } },
      { notId: { orIds: { ids: [{ directRemoteIp: { addressPrefix: "10.1.0.0", prefixLen: 16 } }] } } },
      { orIds: { ids: [{ remoteIp: { addressPrefix: "10.2.0.1", prefixLen: 32 } }] } },
      { orIds: { ids: [{ authenticated: { principalName: { safeRegex: ".*/ns/prod/.*" } } }] } },
      { orIds: { ids: [{ authenticated: { principalName: { exact: "spiffe://td/ns/a/sa/b" } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.principal"], value: { stringMatch: { prefix: "iss/" } } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.audiences"], value: { listMatch: { oneOf: { stringMatch: { exact: "aud1" } } } } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.presenter"], value: { stringMatch: { exact: "azp" } } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.claims", "groups"], value: { listMatch: { oneOf: { stringMatch: { exact: "g1" } } } } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.claims", "nested", "key"], value: { listMatch: { oneOf: { stringMatch: { exact: "v" } } } } } }] } },
    ]);
    expect(p.permissions[0]!.andRules!.rules).toEqual([
      { orRules: { rules: [{ destinationIp: { addressPrefix: "10.9.0.1", prefixLen: 32 } }] } },
      { orRules: { rules: [{ destinationPort: 8080 }] } },
      { orRules: { rules: [{ requestedServerName: { suffix: ".svc" } }] } },
    ]);
    expect(deny!.rules!.policies["ns[foo]-policy[w]-rule[1]"]).toEqual({ permissions: [{ andRules: { rules: [any] } }], principals: [{ andIds: { ids: [any] } }] });
  });

  it("principals in the cluster.local trust domain mean the proxy's trust domain (istiod's trust domain aliases); wildcard ones stay", () => {
    const r = run(sidecar + ap("td", "  rules: [{from: [{source: {principals: [cluster.local/ns/a/sa/b, other.td/ns/a/sa/b, '*/sa/c']}}], when: [{key: source.principal, notValues: [cluster.local/ns/x/sa/y]}]}]"), {
      ...opts,
      security: { trustDomain: "example.org", hasIdentity: true },
    });
    expect(r.messages).toEqual([]);
    const ids = httpRbac(r.snapshot.listeners)[0]!.rules!.policies["ns[foo]-policy[td]-rule[0]"]!.principals[0]!.andIds!.ids;
    expect(ids).toEqual([
      { orIds: { ids: [{ authenticated: { principalName: { exact: "spiffe://example.org/ns/a/sa/b" } } }, { authenticated: { principalName: { exact: "spiffe://other.td/ns/a/sa/b" } } }, { authenticated: { principalName: { safeRegex: "spiffe://.*/sa/c" } } }] } },
      { notId: { orIds: { ids: [{ authenticated: { principalName: { exact: "spiffe://example.org/ns/x/sa/y" } } }] } } },
    ]);
  });

  it("filters in istiod's order AUDIT (LOG), DENY, ALLOW; root-namespace policies apply mesh-wide and come first", () => {
    const r = run(
      sidecar +
        ap("allow-get", "  rules: [{to: [{operation: {methods: [GET]}}]}]") +
        ap("audit", "  action: AUDIT\n  rules: [{}]") +
        ap("deny-local", "  action: DENY\n  rules: [{to: [{operation: {paths: [/admin]}}]}]") +
        ap("mesh-deny", "  action: DENY\n  rules: [{to: [{operation: {paths: [/root]}}]}]", "istio-system"),
      opts,
    );
    expect(r.messages).toEqual([]);
    const configs = httpRbac(r.snapshot.listeners);
    expect(configs.map((c) => c!.rules!.action)).toEqual(["LOG", "DENY", "ALLOW"]);
    expect(Object.keys(configs[1]!.rules!.policies)).toEqual(["ns[istio-system]-policy[mesh-deny]-rule[0]", "ns[foo]-policy[deny-local]-rule[0]"]);
    expect(tcpRbac(r.snapshot.listeners).map((c) => c.rules!.action)).toEqual(["LOG", "DENY", "ALLOW"]);
    expect(r.warningMessages.some((m) => m.includes("AUDIT"))).toBe(true);
  });

  it("selection: another namespace, a non-matching selector and targetRefs do not apply; CUSTOM is validated, reported, not enforced", () => {
    const r = run(
      sidecar +
        ap("other-ns", "  {}", "bar") +
        ap("other-app", "  selector: {matchLabels: {app: other}}") +
        ap("targeted", "  targetRefs: [{kind: Service, group: '', name: httpbin}]") +
        ap("ext", "  action: CUSTOM\n  provider: {name: my-ext-authz}\n  rules: [{}]"),
      opts,
    );
    expect(r.messages).toEqual([]);
    expect(httpRbac(r.snapshot.listeners)).toEqual([]);
    expect(r.warningMessages.some((m) => m.includes("targetRef(s) select gateways and waypoints"))).toBe(true);
    expect(r.warningMessages.some((m) => m.includes("CUSTOM (external authorization) is not enforced"))).toBe(true);
    expect(r.summary.filter((l) => l.startsWith("AuthorizationPolicy"))).toEqual([
      expect.stringContaining("not applied (namespace bar"),
      expect.stringContaining("not applied (selector does not match"),
      expect.stringContaining("not applied (targetRef(s)"),
      expect.stringContaining("CUSTOM (provider my-ext-authz) not enforced"),
    ]);
  });

  it("validation errors as istiod's: unknown key, missing values, bad IP, bad port, empty source/operation, provider misuse, selector with targetRefs", () => {
    const bad = (name: string, body: string): string[] => run(sidecar + ap(name, body), opts).messages;
    expect(bad("k", "  rules: [{when: [{key: request.foo, values: [x]}]}]")).toEqual([expect.stringContaining("unknown attribute: request.foo")]);
    expect(bad("v", "  rules: [{when: [{key: source.ip}]}]")).toEqual([expect.stringContaining("at least one of values or notValues must be set for key source.ip")]);
    expect(bad("ip", "  rules: [{from: [{source: {ipBlocks: [not-an-ip]}}]}]")).toEqual([expect.stringContaining('invalid IP address or CIDR range: "not-an-ip"')]);
    expect(bad("ip2", "  rules: [{when: [{key: destination.ip, values: [10.0.0.0/40]}]}]")).toEqual([expect.stringContaining("invalid IP address or CIDR range for destination.ip")]);
    expect(bad("port", "  rules: [{to: [{operation: {ports: ['70000']}}]}]")).toEqual([expect.stringContaining('invalid port: "70000"')]);
    expect(bad("src", "  rules: [{from: [{source: {}}]}]")).toEqual([expect.stringContaining("`from.source` must not be empty")]);
    expect(bad("src-nil", "  rules: [{from: [{}]}]")).toEqual([expect.stringContaining("`from.source` must not be nil")]);
    expect(bad("op", "  rules: [{to: [{operation: {}}]}]")).toEqual([expect.stringContaining("`to.operation` must not be empty")]);
    expect(bad("custom", "  action: CUSTOM")).toEqual([expect.stringContaining("must specify provider when using CUSTOM action")]);
    expect(bad("prov", "  action: DENY\n  provider: {name: x}")).toEqual([expect.stringContaining("provider can only be used with CUSTOM action")]);
    expect(bad("both", "  selector: {matchLabels: {app: httpbin}}\n  targetRefs: [{kind: Service, name: x}]")).toEqual([expect.stringContaining("only one of targetRefs or workloadSelector can be set")]);
    expect(bad("act", "  action: PERMIT")).toEqual([expect.stringContaining('unsupported value "PERMIT"')]);
    expect(bad("hdr", "  rules: [{when: [{key: 'request.headers[]', values: [x]}]}]")).toEqual([expect.stringContaining("want request.headers[<name>]")]);
    expect(bad("empty", "  rules: [{to: [{operation: {methods: ['']}}]}]")).toEqual([expect.stringContaining("empty value not allowed")]);
    expect(bad("wild", "  rules: [{from: [{source: {principals: ['a*b']}}]}]")).toEqual([expect.stringContaining('wildcard "*" is only supported as a prefix or suffix')]);
    expect(bad("tmpl-any", "  rules: [{to: [{operation: {paths: ['/a/{**}/{*}']}}]}]")).toEqual([expect.stringContaining("invalid or unsupported path a/{**}/{*}, found in paths. {**} is not the last operator")]);
    expect(bad("tmpl-brace", "  rules: [{to: [{operation: {notPaths: ['/a/{b}']}}]}]")).toEqual([expect.stringContaining("Contains '{' or '}' beyond a supported path template")]);
    expect(bad("tmpl-lit", "  rules: [{to: [{operation: {paths: ['/a b/{*}']}}]}]")).toEqual([expect.stringContaining("Contains segment a b with invalid string literal")]);
    expect(bad("tmpl-star", "  rules: [{to: [{operation: {paths: ['/a/*/{*}']}}]}]")).toEqual([expect.stringContaining("Contains segment * with invalid string literal")]);
    expect(bad("tmpl-slash", "  rules: [{to: [{operation: {paths: ['a/{*}']}}]}]")).toEqual([expect.stringContaining('must start with "/"')]);
    expect(bad("sa-ns", "  rules: [{from: [{source: {serviceAccounts: [a/b], namespaces: [x]}}]}]")).toEqual([expect.stringContaining("cannot set serviceAccounts with namespaces or principals")]);
    expect(bad("sa-pr", "  rules: [{from: [{source: {notServiceAccounts: [a/b], principals: [x]}}]}]")).toEqual([expect.stringContaining("cannot set serviceAccounts with namespaces or principals")]);
    expect(bad("sa-wild", "  rules: [{from: [{source: {serviceAccounts: ['a/*']}}]}]")).toEqual([expect.stringContaining("wildcard not allowed in serviceAccounts")]);
    expect(bad("sa-fmt", "  rules: [{from: [{source: {serviceAccounts: [a/b/c]}}]}]")).toEqual([expect.stringContaining(`expected format 'serviceAccount' or 'namespace/serviceAccount', found "a/b/c"`)]);
    expect(bad("sa-ns0", "  rules: [{from: [{source: {serviceAccounts: [/b]}}]}]")).toEqual([expect.stringContaining("found empty namespace")]);
    expect(bad("sa-sa0", "  rules: [{when: [{key: source.serviceAccount, values: [a/]}]}]")).toEqual([expect.stringContaining("found empty serviceAccount")]);
    expect(bad("sa-long", `  rules: [{from: [{source: {serviceAccounts: [${"a".repeat(321)}]}}]}]`)).toEqual([expect.stringContaining("value cannot exceed 320 characters")]);
  });

  it("serviceAccounts / notServiceAccounts / source.serviceAccount: istiod's regex on the peer principal, `sa` alone in the policy's namespace, after requestPrincipals and before ipBlocks", () => {
    const r = run(sidecar + ap("sa", "  rules:\n  - from: [{source: {serviceAccounts: [other/sleep, my.sa], notServiceAccounts: [foo/bad], ipBlocks: [10.0.0.0/8]}}]\n    when: [{key: source.serviceAccount, values: [x]}]"), opts);
    expect(r.messages).toEqual([]);
    const re = (ns: string, sa: string) => ({ authenticated: { principalName: { safeRegex: `spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?` } } });
    for (const ls of [httpRbac(r.snapshot.listeners)[0]!, tcpRbac(r.snapshot.listeners)[0]!]) {
      expect(ls.rules!.policies["ns[foo]-policy[sa]-rule[0]"]!.principals).toEqual([
        {
          andIds: {
            ids: [{ orIds: { ids: [re("other", "sleep"), re("foo", "my\\.sa")] } }, { notId: { orIds: { ids: [re("foo", "bad")] } } }, { orIds: { ids: [{ directRemoteIp: { addressPrefix: "10.0.0.0", prefixLen: 8 } }] } }, { orIds: { ids: [re("foo", "x")] } }],
          },
        },
      ]);
    }
  });

  it("path templates become Envoy uri_template permissions ({*} → *, {**} → **); plain paths stay url_path", () => {
    const r = run(sidecar + ap("tmpl", "  rules: [{to: [{operation: {paths: ['/path/template/{*}', '/{**}/path/template', /plain*], notPaths: ['/not-path/template/{*}']}}]}]"), opts);
    expect(r.messages).toEqual([]);
    expect(httpRbac(r.snapshot.listeners)[0]!.rules!.policies["ns[foo]-policy[tmpl]-rule[0]"]!.permissions).toEqual([
      {
        andRules: {
          rules: [
            { orRules: { rules: [{ uriTemplate: { pathTemplate: "/path/template/*" } }, { uriTemplate: { pathTemplate: "/**/path/template" } }, { urlPath: { path: { prefix: "/plain" } } }] } },
            { notRule: { orRules: { rules: [{ uriTemplate: { pathTemplate: "/not-path/template/*" } }] } } },
          ],
        },
      },
    ]);
  });

  it("istio.io/dry-run: dry-run policies are the shadow rules of their action's filter (istiod's dry-run-mix), with istiod's stat prefixes; a bad value warns and enforces", () => {
    const annotated = (name: string, value: string, body: string): string =>
      `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ${name}\n  namespace: foo\n  annotations:\n    "istio.io/dry-run": "${value}"\nspec:\n${body}\n---\n`;
    const allowRule = (path: string) => ({ permissions: [{ andRules: { rules: [{ orRules: { rules: [{ urlPath: { path: { exact: path } } }] } }] } }], principals: [{ andIds: { ids: [any] } }] });
    const r = run(
      sidecar +
        annotated("httpbin-1", "true", "  rules: [{to: [{operation: {paths: [/allow]}}]}]") +
        annotated("httpbin-2", "false", "  rules: [{to: [{operation: {paths: [/another]}}]}]") +
        annotated("deny-dry", "True", "  action: DENY\n  rules: [{to: [{operation: {paths: [/deny]}}]}]"),
      opts,
    );
    expect(r.messages).toEqual([]);
    expect(httpRbac(r.snapshot.listeners)).toEqual([
      { shadowRules: { action: "DENY", policies: { "ns[foo]-policy[deny-dry]-rule[0]": allowRule("/deny") } }, shadowRulesStatPrefix: "istio_dry_run_deny_" },
      { rules: { action: "ALLOW", policies: { "ns[foo]-policy[httpbin-2]-rule[0]": allowRule("/another") } }, shadowRules: { action: "ALLOW", policies: { "ns[foo]-policy[httpbin-1]-rule[0]": allowRule("/allow") } }, shadowRulesStatPrefix: "istio_dry_run_allow_" },
    ]);
    // TCP: the DENY dry-run rule loses its path (denies the port, in shadow); the ALLOW rules are dropped.
    expect(tcpRbac(r.snapshot.listeners)).toEqual([
      { statPrefix: "tcp.", shadowRules: { action: "DENY", policies: { "ns[foo]-policy[deny-dry]-rule[0]": { permissions: [{ andRules: { rules: [any] } }], principals: [{ andIds: { ids: [any] } }] } } }, shadowRulesStatPrefix: "istio_dry_run_deny_" },
      { statPrefix: "tcp.", rules: { action: "ALLOW", policies: {} }, shadowRules: { action: "ALLOW", policies: {} }, shadowRulesStatPrefix: "istio_dry_run_allow_" },
    ]);
    expect(r.summary).toContain("AuthorizationPolicy foo/httpbin-1: ALLOW dry-run (shadow rules, not enforced), 1 rule(s) on inbound HTTP and TCP");

    const bad = run(sidecar + annotated("b", "yes", "  action: DENY\n  rules: [{}]"), opts);
    expect(bad.messages).toEqual([]);
    expect(bad.warningMessages).toEqual([expect.stringContaining(`metadata.annotations["istio.io/dry-run"]: failed to parse "yes" as a boolean: the policy is enforced`)]);
    expect(httpRbac(bad.snapshot.listeners)[0]!.rules!.action).toBe("DENY");
    expect(httpRbac(bad.snapshot.listeners)[0]!.shadowRules).toBeUndefined();
  });

  it("HTTP-only fields on TCP: an ALLOW rule is dropped (port denied), a DENY rule loses them (here: denies the whole port)", () => {
    const allowGet = run(sidecar + sample("authz-tcp/tcp-policy-allow-get-port-9000.yaml"), { namespace: "foo", proxyLabels: { app: "tcp-echo" } });
    expect(allowGet.messages).toEqual([]);
    expect(tcpRbac(allowGet.snapshot.listeners)).toEqual([{ statPrefix: "tcp.", rules: { action: "ALLOW", policies: {} }, shadowRulesStatPrefix: "istio_dry_run_allow_" }]);
    expect(allowGet.summary).toContain('AuthorizationPolicy rule ns[foo]-policy[tcp-policy]-rule[0]: "methods" is HTTP only: the ALLOW rule is skipped on TCP filter chains');
    // The HTTP chain keeps the rule.
    expect(Object.keys(httpRbac(allowGet.snapshot.listeners)[0]!.rules!.policies)).toEqual(["ns[foo]-policy[tcp-policy]-rule[0]"]);

    const denyGet = run(sidecar + sample("authz-tcp/tcp-policy-deny-get-port-9000.yaml"), { namespace: "foo", proxyLabels: { app: "tcp-echo" } });
    expect(tcpRbac(denyGet.snapshot.listeners)).toEqual([
      { statPrefix: "tcp.", rules: { action: "DENY", policies: { "ns[foo]-policy[tcp-policy]-rule[0]": { permissions: [{ andRules: { rules: [{ orRules: { rules: [{ destinationPort: 9000 }] } }] } }], principals: [{ andIds: { ids: [any] } }] } } }, shadowRulesStatPrefix: "istio_dry_run_allow_" },
    ]);
    const ports = run(sidecar + sample("authz-tcp/tcp-policy-allow-ports-9000-9001.yaml"), { namespace: "foo", proxyLabels: { app: "tcp-echo" } });
    expect(tcpRbac(ports.snapshot.listeners)[0]!.rules!.policies["ns[foo]-policy[tcp-policy]-rule[0]"]!.permissions).toEqual([{ andRules: { rules: [{ orRules: { rules: [{ destinationPort: 9000 }, { destinationPort: 9001 }] } }] } }]);
  });

  it("istio.io samples translate cleanly (authz-http, authz-deny, authz-jwt)", () => {
    const bookinfo = (app: string) => ({ namespace: "default", proxyLabels: { app } });
    const sc = sidecar.replace("namespace: foo", "namespace: default");
    const details = run(sc + sample("authz-http/details-viewer.yaml") + sample("authz-http/allow-nothing.yaml"), bookinfo("details"));
    expect(details.messages).toEqual([]);
    const policies = httpRbac(details.snapshot.listeners)[0]!.rules!.policies;
    expect(Object.keys(policies)).toEqual(["ns[default]-policy[allow-nothing]-rule[0]", "ns[default]-policy[details-viewer]-rule[0]"]);
    const jwt = run(sidecar + sample("authz-jwt/authorizationpolicy-require-jwt-group1.yaml"), opts);
    expect(jwt.messages).toEqual([]);
    expect(httpRbac(jwt.snapshot.listeners)[0]!.rules!.policies["ns[foo]-policy[require-jwt]-rule[0]"]!.principals[0]!.andIds!.ids).toEqual([
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.principal"], value: { stringMatch: { exact: "testing@secure.istio.io/testing@secure.istio.io" } } } }] } },
      { orIds: { ids: [{ metadata: { filter: "istio_authn", path: ["request.auth.claims", "groups"], value: { listMatch: { oneOf: { stringMatch: { exact: "group1" } } } } } }] } },
    ]);
    const deny = run(sidecar + sample("authz-deny/deny-method-get-unless-x-token-admin.yaml") + sample("authz-deny/allow-path-ip.yaml"), opts);
    expect(deny.messages).toEqual([]);
    expect(httpRbac(deny.snapshot.listeners).map((c) => c!.rules!.action)).toEqual(["DENY", "ALLOW"]);
  });
});
