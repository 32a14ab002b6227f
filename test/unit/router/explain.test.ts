// `outrigger explain` (and the explain module under /explain) on Istio's Bookinfo samples: the
// route taken and its rule, why earlier routes did not match (expected vs actual), weighted
// clusters with subsets, cluster policies, and the errors users hit.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Explanation } from "../../../src/router/explain.js";
import { harness } from "../cli/cli-harness.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const samples = sharedPath("istio-samples", "istio", "samples", "bookinfo", "networking");

const serviceEntry = (name: string, port: number, versions: string[]): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: ${port}, name: http, protocol: HTTP}
  endpoints:
${versions.map((v, i) => `  - {address: 10.0.${i}.1, ports: {http: ${port}}, labels: {version: ${v}}}`).join("\n")}
---
`;

// The app's outbound listener on 9080 (what Istio's per-port outbound listener is).
const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - port: {number: 9080, name: http, protocol: HTTP}
    bind: 0.0.0.0
    hosts: ["./*"]
`;

function configDir(extra: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), "outrigger-explain-"));
  writeFileSync(join(d, "services.yaml"), serviceEntry("reviews", 9080, ["v1", "v2", "v3"]) + serviceEntry("ratings", 9080, ["v1"]) + sidecar);
  for (const [n, t] of Object.entries(extra)) writeFileSync(join(d, n), t);
  return d;
}

async function explain(configs: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return harness().run(["explain", ...configs.flatMap((c) => ["--config", c]), "--outbound", "off", ...args]);
}

async function explainJson(configs: string[], args: string[]): Promise<Explanation> {
  const r = await explain(configs, [...args, "--format", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Explanation;
}

const jasonVs = [configDir(), join(samples, "destination-rule-all.yaml"), join(samples, "virtual-service-reviews-jason-v2-v3.yaml")];

describe("outrigger explain (Bookinfo samples)", () => {
  it("a match: the header rule takes the request to the v2 subset", async () => {
    const x = await explainJson(jasonVs, ["--authority", "reviews:9080", "--path", "/reviews/0", "--header", "end-user: jason"]);
    expect(x.listener).toEqual({ name: "0.0.0.0_9080", address: "0.0.0.0", port: 9080, direction: "OUTBOUND" });
    expect(x.routeConfig).toBe("0.0.0.0_9080");
    expect(x.virtualHost?.name).toBe("reviews.default.svc.cluster.local:9080");
    expect(x.routes).toEqual([{ index: 0, name: "reviews.http0", source: "default/reviews http[0] match[0]", matched: true }]);
    expect(x.action?.targets).toEqual([{ cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", weight: 1, percent: 100 }]);
    expect(x.clusters[0]).toMatchObject({ name: "outbound|9080|v2|reviews.default.svc.cluster.local", found: true, subset: "v2", service: "reviews.default.svc.cluster.local", tls: "plaintext", endpoints: [{ address: "10.0.1.1:9080" }] });
  });

  it("a miss on the first rule: the header is absent; the catch-all rule takes it to v3", async () => {
    const r = await explain(jasonVs, ["--authority", "reviews:9080", "--path", "/reviews/0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ✘ #0 reviews.http0 [default/reviews http[0] match[0]]: header "end-user": expected exact "jason", got none\n');
    expect(r.stdout).toContain("  ✔ #1 reviews.http1 [default/reviews http[1]]  ← taken\n");
    expect(r.stdout).toContain('outcome      route "reviews.http1" (default/reviews http[1]): forwarded to outbound|9080|v3|reviews.default.svc.cluster.local\n');
  });

  it("a near miss: the value differs only in case, and shows side by side", async () => {
    const x = await explainJson(jasonVs, ["--authority", "reviews:9080", "--header", "end-user:Jason"]);
    expect(x.routes?.[0]).toMatchObject({ matched: false, reason: 'header "end-user": expected exact "jason", got "Jason"' });
  });

  it("weighted routes (80/20): both subsets with their share and policies", async () => {
    const x = await explainJson([configDir(), join(samples, "destination-rule-all.yaml"), join(samples, "virtual-service-reviews-80-20.yaml")], ["--authority", "reviews.default.svc.cluster.local:9080"]);
    expect(x.action?.targets).toEqual([
      { cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", weight: 80, percent: 80 },
      { cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", weight: 20, percent: 20 },
    ]);
    expect(x.clusters.map((c) => c.subset)).toEqual(["v1", "v2"]);
    expect(x.clusters[0]).toMatchObject({ type: "STATIC", lbPolicy: "LEAST_REQUEST", connectTimeoutMs: 10_000 });
  });

  it("fault injection (ratings test-abort): the fault shows on the route taken", async () => {
    const x = await explainJson([configDir(), join(samples, "destination-rule-all.yaml"), join(samples, "virtual-service-ratings-test-abort.yaml")], ["--authority", "ratings:9080", "--header", "end-user:jason"]);
    expect(x.action?.fault).toEqual({ abort: { httpStatus: 500, percentage: { numerator: 1_000_000, denominator: "MILLION" } } });
  });

  it("method, path and query near-misses; rewrites, retries, timeout and header mutations of the route taken", async () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: posts
    match: [{method: {exact: POST}, uri: {prefix: /api}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - name: v2-only
    match: [{uri: {exact: /api/v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - name: beta
    match: [{uri: {prefix: /api}, queryParams: {beta: {exact: "1"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - name: api
    match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /}
    timeout: 3s
    retries: {attempts: 4, perTryTimeout: 500ms, retryOn: 5xx}
    headers: {request: {set: {x-api: "yes"}}, response: {remove: [server]}}
    route: [{destination: {host: reviews, subset: v3}}]
`;
    const x = await explainJson([configDir({ "vs.yaml": vs }), join(samples, "destination-rule-all.yaml")], ["--authority", "reviews:9080", "--path", "/api/v1/list?beta=0"]);
    expect(x.routes?.map((r) => r.reason ?? "taken")).toEqual([
      'header ":method": expected exact "POST", got "GET"',
      'path: expected exact "/api/v2", got "/api/v1/list"',
      'query parameter "beta": expected exact "1", got "0"',
      "taken",
    ]);
    expect(x.action).toMatchObject({
      kind: "forward",
      rewrittenPath: "/v1/list?beta=0",
      timeoutMs: 3_000,
      retries: { numRetries: 4, perTryTimeoutMs: 500, retryOn: ["5xx"] },
      requestHeadersToAdd: [{ key: "x-api", value: "yes", action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
      responseHeadersToRemove: ["server"],
    });
  });

  it("an authority no virtual host takes: 404 NR, and why each host's domains do not match", async () => {
    const r = await explain(jasonVs, ["--authority", "productpage:9080"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("virtual host none\n");
    expect(r.stdout).toMatch(/ {4}reviews\.default\.svc\.cluster\.local:9080: no domain matches "productpage:9080" \(domains "reviews\.default\.svc\.cluster\.local", /);
    expect(r.stdout).toContain('outcome      no virtual host of "0.0.0.0_9080" takes the authority "productpage:9080": 404 (NR)\n');
  });

  it("an unknown port or listener: exit 1 with the listeners that exist", async () => {
    let r = await explain(jasonVs, ["--authority", "reviews:9080", "--port", "8080"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("outrigger explain: no listener on port 8080; listeners: 0.0.0.0_9080 (0.0.0.0:9080, outbound)\n");
    r = await explain(jasonVs, ["--authority", "reviews:9080", "--listener", "virtualInbound"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('outrigger explain: no listener named "virtualInbound"; listeners: 0.0.0.0_9080 (0.0.0.0:9080, outbound)\n');
  });

  it("usage errors: no --authority, a header without a colon, a bad port (exit 2)", async () => {
    for (const [args, msg] of [
      [[], "--authority is required (the Host header, e.g. reviews:9080)"],
      [["--authority", "a", "--header", "novalue"], '--header "novalue": expected name:value'],
      [["--authority", "a", "--port", "99999"], '--port "99999": expected 1..65535'],
      [["--authority", "a", "--format", "yaml"], '--format "yaml": use text or json'],
    ] as const) {
      const r = await explain(jasonVs, [...args]);
      expect(r.code, msg).toBe(2);
      expect(r.stderr).toBe(`outrigger explain: ${msg}\nsee \`outrigger explain --help\`\n`);
    }
  });

  it("--help describes the command", async () => {
    const r = await harness().run(["explain", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--authority <host[:port]>");
  });
});
