// Route-match micro-benchmark: ns/op for the hot path of RouteTable.match on an Istio-shaped
// table. Not a test. Build first: `npm run build && node bench/route-match.bench.mjs`.
// Reports each scenario next to a baseline (a bare Map lookup + startsWith) measured in the
// same run, so numbers compare across machines as ratios.

import { HeaderList } from "../dist/http/header-list.js";
import { RouteTable } from "../dist/router/route-table.js";

const ITER = Number(process.env.ITER ?? 2_000_000);

function route(name, match, cluster = name) {
  return {
    name,
    match: { caseSensitive: true, headers: [], queryParameters: [], ...match },
    route: { cluster },
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
  };
}

// ~50 services × 4 domain forms, like an Istio outbound "9080" route configuration.
const virtualHosts = [];
for (let i = 0; i < 50; i++) {
  const svc = `svc${i}`;
  const fqdn = `${svc}.shop.svc.cluster.local`;
  virtualHosts.push({
    name: `${fqdn}:9080`,
    domains: [fqdn, `${fqdn}:9080`, svc, `${svc}:9080`],
    routes: [
      route("canary", { prefix: "/", headers: [{ name: "x-canary", stringMatch: { exact: "true" } }] }, `${svc}-v2`),
      route("regex", { safeRegex: "/api/v[0-9]+/items/[0-9]+" }, `${svc}-api`),
      route("default", { prefix: "/" }, `${svc}-v1`),
    ],
  });
}
virtualHosts.push({ name: "allow_any", domains: ["*"], routes: [route("allow_any", { prefix: "/" })] });
const table = RouteTable.compile({ name: "9080", virtualHosts });

function view(path, authority, headers = []) {
  return { method: "GET", path, authority, scheme: "http", headers: HeaderList.from(headers) };
}

const baseHeaders = [
  ["user-agent", "curl/8"],
  ["accept", "*/*"],
  ["x-request-id", "8c3f2b7e-1d2a-4d1e-9a77-0f4c8f0c1e9b"],
];
const scenarios = [
  ["exact vhost + prefix route", view("/productpage?u=1", "svc25:9080", baseHeaders), "default"],
  ["header match route", view("/x", "svc25:9080", [...baseHeaders, ["x-canary", "true"]]), "canary"],
  ["regex route", view("/api/v2/items/12345", "svc25.shop.svc.cluster.local:9080", baseHeaders), "regex"],
  ["default vhost (*)", view("/", "unknown.example.com", baseHeaders), "allow_any"],
];

function bench(fn) {
  for (let i = 0; i < 200_000; i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ITER;
}

// Baseline: the least a router could do (one Map lookup + one prefix check).
const map = new Map(virtualHosts.map((v) => [v.domains[3], v]));
let sink = 0;
const baseline = bench(() => {
  const v = map.get("svc25:9080");
  if (v !== undefined && "/productpage".startsWith("/")) sink++;
});

console.log(`route-match bench: ${ITER} iterations, ${virtualHosts.length} virtual hosts`);
console.log(`${"baseline (Map.get + startsWith)".padEnd(34)} ${baseline.toFixed(1).padStart(8)} ns/op`);
for (const [label, req, expected] of scenarios) {
  const got = table.match(req)?.route.name;
  if (got !== expected) throw new Error(`${label}: expected route ${expected}, got ${got}`);
  const ns = bench(() => {
    if (table.match(req) !== undefined) sink++;
  });
  console.log(`${label.padEnd(34)} ${ns.toFixed(1).padStart(8)} ns/op  (${(ns / baseline).toFixed(1)}x baseline)`);
}
if (sink === 0) console.log("unreachable");
