import { describe, expect, it } from "vitest";
import { formatConfigError } from "../../../src/config/model/config-error.js";
import { doc, reviewsSE, run } from "./helpers.js";

function vs(body: string, name = "r"): string {
  return doc("VirtualService", name, "shop", body);
}

describe("formatConfigError", () => {
  it("formats errors and warnings", () => {
    expect(formatConfigError({ file: "mesh/vs.yaml", line: 14, path: "spec.http[0].route[1].weight", message: "weights must sum to 100", severity: "error" })).toBe(
      "mesh/vs.yaml:14: spec.http[0].route[1].weight: weights must sum to 100",
    );
    expect(formatConfigError({ file: "a.yaml", line: 3, path: "spec.tcp", message: "not supported yet", severity: "warning" })).toBe("a.yaml:3: warning: spec.tcp: not supported yet");
  });
});

describe("kinds and metadata", () => {
  it("ignores unsupported kinds and API versions with a warning, never an error", () => {
    const r = run(
      doc("Gateway", "gw", "shop", "  selector: {istio: ingressgateway}") +
        doc("AuthorizationPolicy", "ap", "shop", "  {}", "security.istio.io/v1alpha1") +
        doc("VirtualService", "old", "shop", "  hosts: [a]", "networking.istio.io/v2") +
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.message)).toEqual([
      "ignored: Gateway is not supported by outrigger yet",
      "ignored: AuthorizationPolicy is not supported by outrigger yet",
      "ignored: VirtualService is not supported by outrigger yet",
      "ignored: Deployment is not supported by outrigger yet",
    ]);
    expect(r.summary[0]).toBe("Gateway shop/gw: ignored (networking.istio.io/v1 Gateway is not supported yet)");
  });

  it("requires metadata.name and rejects duplicates; namespace defaults to the proxy's", () => {
    const r = run("apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {}\nspec: {host: a}\n---\n" + doc("DestinationRule", "d", "shop", "  host: a") + doc("DestinationRule", "d", "shop", "  host: b"));
    expect(r.messages).toEqual(["mesh/config.yaml:3: metadata.name: metadata.name is required", "mesh/config.yaml:17: metadata.name: duplicate DestinationRule shop/d (first defined at mesh/config.yaml:6)"]);
    const r2 = run("apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: x}\nspec: {host: a}\n");
    expect(r2.summary).toEqual(["DestinationRule shop/x: host a.shop.svc.cluster.local, no subsets"]);
  });

  it("warns about unknown fields", () => {
    const r = run(vs("  hosts: [a]\n  colour: blue\n  http:\n  - route:\n    - destination: {host: a}\n      wieght: 3"));
    expect(r.errors).toEqual([]);
    expect(r.warningMessages).toContain('mesh/config.yaml:8: warning: spec.colour: unknown field "colour" ignored');
    expect(r.warningMessages).toContain('mesh/config.yaml:12: warning: spec.http[0].route[0].wieght: unknown field "wieght" ignored');
  });
});

describe("VirtualService validation", () => {
  it("collects every error in a file with the right lines and paths", () => {
    const yaml = vs(
      [
        "  hosts: [reviews, '*']", // 7
        "  http:", // 8
        "  - match:", // 9
        "    - headers:", // 10
        "        End-User: {exact: jason}", // 11
        "      uri: {regex: 'a(b'}", // 12
        "    route:", // 13
        "    - destination: {host: reviews, subset: V1}", // 14
        "      weight: -5", // 15
        "    - destination: {host: reviews}", // 16
        "      weight: 0", // 17
        "    redirect: {uri: /x}", // 18
        "    timeout: 10 seconds", // 19
        "  - route:", // 20
        "    - destination: {host: reviews}", // 21
        "    rewrite: {uri: /a, uriRegexRewrite: {match: '^/b', rewrite: /c}}", // 22
        "    retries: {attempts: 0, retryOn: 5xx}", // 23
        "    fault: {abort: {httpStatus: 700, percentage: {value: 150}}}", // 24
        "    headers:", // 25
        "      request:", // 26
        "        set: {':path': /x, host: h}", // 27
        "    mirrorPercentage: {value: 101}", // 28
      ].join("\n"),
    );
    const r = run(yaml);
    expect(r.messages).toEqual([
      "mesh/config.yaml:7: spec.hosts[1]: wildcard host * is not allowed for virtual services bound to the mesh gateway",
      expect.stringMatching(/^mesh\/config\.yaml:12: spec\.http\[0\]\.match\[0\]\.uri\.regex: error parsing regexp: missing closing \)/),
      'mesh/config.yaml:11: spec.http[0].match[0].headers.End-User: header name "End-User" must be lower-case',
      'mesh/config.yaml:14: spec.http[0].route[0].destination.subset: subset name "V1" is invalid: must be a DNS-1123 label (lower-case alphanumerics and \'-\', at most 63 chars)',
      "mesh/config.yaml:15: spec.http[0].route[0].weight: weight -5 < 0",
      "mesh/config.yaml:13: spec.http[0].route: total destination weight = 0",
      "mesh/config.yaml:9: spec.http[0]: HTTP route cannot contain both route and redirect",
      'mesh/config.yaml:19: spec.http[0].timeout: invalid duration "10 seconds": use forms like "10s", "1.5s", "100ms", "1h"',
      "mesh/config.yaml:22: spec.http[1].rewrite: rewrite may only contain one of URI or UriRegexRewrite",
      'mesh/config.yaml:27: spec.http[1].headers.request.set[":path"]: invalid header ":path": header cannot have ":" prefix',
      "mesh/config.yaml:23: spec.http[1].retries: http retry policy configured when attempts are set to 0 (disabled)",
      "mesh/config.yaml:24: spec.http[1].fault.abort.percentage.value: percentage 150 is neither 0.0, nor in range [0.0001, 100.0]",
      "mesh/config.yaml:24: spec.http[1].fault.abort.httpStatus: HTTP status 700 is not in range 200-599",
      "mesh/config.yaml:28: spec.http[1].mirrorPercentage.value: mirror_percentage must have a max value of 100 (it has 101)",
    ]);
  });

  it("requires hosts and some http/tcp/tls; a tls rule needs a match with SNI hosts", () => {
    expect(run(vs("  gateways: [mesh]")).messages).toEqual([
      "mesh/config.yaml:6: spec.hosts: virtual service must have at least one host (delegate virtual services are not supported yet)",
      "mesh/config.yaml:6: spec: http, tcp or tls must be provided in virtual service",
    ]);
    const r = run(vs("  hosts: [a]\n  tls:\n  - route:\n    - destination: {host: a}"));
    expect(r.messages).toEqual(["mesh/config.yaml:9: spec.tls[0].match: TLS route must have at least one match condition"]);
  });

  it("rejects rewrite with redirect, missing actions, bad redirects and direct responses", () => {
    const r = run(
      vs(
        [
          "  hosts: [a]",
          "  http:",
          "  - redirect: {uri: /n, redirectCode: 250, scheme: ftp}", // 9
          "    rewrite: {uri: /}", // 10
          "  - name: empty", // 11
          "  - directResponse: {status: 99}", // 12
          "  - redirect: {}", // 13
          "  - route:", // 14
          "    - destination: {host: '*'}", // 15
          "  - route:", // 16
          "    - destination: {host: a, port: {number: 70000}}", // 17
          "    corsPolicy: {allowMethods: [FETCH]}", // 18
        ].join("\n"),
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:10: spec.http[0].rewrite: HTTP route rule cannot contain both rewrite and redirect",
      'mesh/config.yaml:9: spec.http[0].redirect.scheme: invalid redirect scheme, must be "http" or "https"',
      "mesh/config.yaml:9: spec.http[0].redirect.redirectCode: 250 is not a valid redirect code, must be 3xx",
      "mesh/config.yaml:11: spec.http[1]: HTTP route, redirect or directResponse is required",
      "mesh/config.yaml:12: spec.http[2].directResponse.status: HTTP status 99 is not in range 200-599",
      "mesh/config.yaml:13: spec.http[3].redirect: redirect must specify URI, authority, scheme, or port",
      "mesh/config.yaml:15: spec.http[4].route[0].destination.host: invalid destination host *",
      "mesh/config.yaml:17: spec.http[5].route[0].destination.port.number: port number 70000 must be in the range 1..65535",
      'mesh/config.yaml:18: spec.http[5].corsPolicy.allowMethods[0]: "FETCH" is not a supported HTTP method',
    ]);
    // corsPolicy is supported: no "not supported" warning any more.
    expect(r.warningMessages.filter((m) => m.includes("corsPolicy"))).toEqual([]);
  });

  it("accepts weights that do not sum to 100 (current istiod only requires a positive total)", () => {
    const r = run(reviewsSE + vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n      weight: 1\n    - destination: {host: reviews}\n      weight: 2"));
    expect(r.errors).toEqual([]);
  });

  it("validates durations in retries, fault delay and timeouts; no warning for timeout/retries/fault/mirror", () => {
    const ok = run(
      reviewsSE +
        vs(
          "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    timeout: 1.5s\n    retries: {attempts: 3, perTryTimeout: 100ms, retryOn: 'gateway-error,503'}\n    fault: {delay: {fixedDelay: 5s, percentage: {value: 10}}}\n    mirrors:\n    - destination: {host: reviews}\n      percentage: {value: 50}",
        ),
    );
    expect(ok.errors).toEqual([]);
    expect(ok.warnings).toEqual([]);
    const bad = run(vs("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a}\n    retries: {attempts: 2, perTryTimeout: 0.5ms, retryOn: sometimes}\n    fault: {delay: {percentage: {value: 10}}}"));
    expect(bad.messages).toEqual([
      'mesh/config.yaml:11: spec.http[0].retries.perTryTimeout: duration must be at least 1ms, got "0.5ms"',
      'mesh/config.yaml:11: spec.http[0].retries.retryOn: "sometimes" is not a valid retryOn policy',
      "mesh/config.yaml:12: spec.http[0].fault.delay: delay requires fixedDelay",
    ]);
  });
});

describe("DestinationRule, ServiceEntry, WorkloadEntry, Sidecar validation", () => {
  it("DestinationRule: host, subsets, traffic policy", () => {
    const r = run(
      doc(
        "DestinationRule",
        "d",
        "shop",
        [
          "  host: ''", // 7
          "  trafficPolicy: {}", // 8
          "  subsets:", // 9
          "  - name: v1", // 10
          "    labels: {version: v1}", // 11
          "  - name: v1", // 12
          "  - name: Bad_Name", // 13
          "    trafficPolicy:", // 14
          "      connectionPool: {http: {http1MaxPendingRequests: -1, idleTimeout: soon}}", // 15
          "      loadBalancer: {simple: FASTEST}", // 16
          "      outlierDetection: {maxEjectionPercent: 150}", // 17
        ].join("\n"),
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:7: spec.host: host is required",
      "mesh/config.yaml:8: spec.trafficPolicy: traffic policy must have at least one field",
      "mesh/config.yaml:12: spec.subsets[1].name: duplicate subset names: v1",
      'mesh/config.yaml:13: spec.subsets[2].name: subset name "Bad_Name" is invalid: must be a DNS-1123 label (lower-case alphanumerics and \'-\', at most 63 chars)',
      "mesh/config.yaml:17: spec.subsets[2].trafficPolicy.outlierDetection.maxEjectionPercent: percentage 150 is not in range 0..100",
      'mesh/config.yaml:16: spec.subsets[2].trafficPolicy.loadBalancer.simple: unsupported value "FASTEST", must be one of UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST',
      "mesh/config.yaml:15: spec.subsets[2].trafficPolicy.connectionPool.http.http1MaxPendingRequests: http1 max pending requests must be non-negative",
      'mesh/config.yaml:15: spec.subsets[2].trafficPolicy.connectionPool.http.idleTimeout: invalid duration "soon": use forms like "10s", "1.5s", "100ms", "1h"',
    ]);
  });

  it("ServiceEntry: hosts, ports, resolution, endpoints", () => {
    const r = run(
      doc(
        "ServiceEntry",
        "s",
        "shop",
        [
          "  hosts: ['*', a.example.com, b.example.com]", // 7
          "  resolution: STATIC", // 8
          "  ports:", // 9
          "  - {number: 80, name: http, protocol: HTTP}", // 10
          "  - {number: 80, name: http, protocol: SPDY}", // 11
          "  - {number: 0, name: tcp-x}", // 12
          "  endpoints:", // 13
          "  - {address: not-an-ip}", // 14
          "  - {address: 10.0.0.1, ports: {grpc: 8080}}", // 15
        ].join("\n"),
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:7: spec.hosts[0]: invalid host *",
      'mesh/config.yaml:11: spec.ports[1].name: service entry port name "http" already defined',
      "mesh/config.yaml:11: spec.ports[1].number: service entry port 80 already defined",
      "mesh/config.yaml:11: spec.ports[1].protocol: unsupported protocol: SPDY",
      "mesh/config.yaml:12: spec.ports[2].number: port number 0 must be in the range 1..65535",
      'mesh/config.yaml:14: spec.endpoints[0].address: endpoint address "not-an-ip" is not a valid IP address',
      "mesh/config.yaml:15: spec.endpoints[1].ports.grpc: endpoint port 8080 is not defined by the service entry",
    ]);
    const dns = run(doc("ServiceEntry", "d", "shop", "  hosts: ['*.example.com']\n  resolution: DNS\n  ports: [{number: 443, name: https, protocol: HTTPS}]"));
    expect(dns.messages).toEqual(["mesh/config.yaml:7: spec.hosts[0]: hosts must be FQDN if no endpoints are provided for resolution mode DNS"]);
    // HTTPS ports are routed by SNI (TLS passthrough) on intercepted traffic: no warning.
    expect(dns.warningMessages).toEqual([]);
  });

  it("WorkloadEntry and Sidecar", () => {
    const r = run(
      doc("WorkloadEntry", "w", "shop", "  ports: {http: 99999}\n  labels: {app: x}") +
        doc(
          "Sidecar",
          "sc",
          "shop",
          [
            "  ingress:", // 16
            "  - port: {number: 8080, protocol: HTTP, name: http}", // 17
            "    defaultEndpoint: 10.1.1.1:8080", // 18
            "  - port: {number: 8080, protocol: HTTP, name: http}", // 19
            "    defaultEndpoint: unix:///var/run/app.sock", // 20
            "  egress:", // 21
            "  - hosts: ['*/*']", // 22
            "  - port: {number: 9080, protocol: HTTP}", // 23
            "    hosts: [reviews]", // 24
            "  outboundTrafficPolicy: {mode: REGISTRY_ONLY}", // 25
          ].join("\n"),
        ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:6: spec.address: address is required",
      "mesh/config.yaml:7: spec.ports.http: port number 99999 must be in the range 1..65535",
      "mesh/config.yaml:18: spec.ingress[0].defaultEndpoint: sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset",
      "mesh/config.yaml:19: spec.ingress[1].port: sidecar: ports on IP bound listeners must be unique",
      "mesh/config.yaml:20: spec.ingress[1].defaultEndpoint: unix domain socket defaultEndpoint is not supported yet",
      "mesh/config.yaml:22: spec.egress[0]: sidecar: the egress listener with empty port should be the last listener in the list",
      'mesh/config.yaml:24: spec.egress[1].hosts[0]: host "reviews" must be of form namespace/dnsName',
    ]);
    // Enforced with --intercept (test/unit/config/intercept-policy.test.ts): no warning.
    expect(r.warningMessages.filter((m) => m.includes("outboundTrafficPolicy"))).toEqual([]);
  });
});
