// formatExplanation: an Explanation as text for humans (`outrigger explain`, `/explain`).

import type { ClusterPolicy } from "./explain-cluster.js";
import type { Explanation } from "./explain.js";

function ms(n: number | undefined): string {
  if (n === undefined) return "-";
  if (n === 0) return "none";
  return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
}

function cbText(v: number): string {
  // 4294967295 / 2^31-1: Istio's "unlimited".
  return v >= 2147483647 ? "unlimited" : String(v);
}

function clusterLines(c: ClusterPolicy): string[] {
  if (!c.found) return [`  cluster ${c.name}: does not exist (Envoy answers 503, flag NC)`];
  const out = [`  cluster ${c.name}`];
  const add = (k: string, v: string | undefined): void => void (v !== undefined && out.push(`    ${k.padEnd(18)}${v}`));
  add("service", c.service);
  add("subset", c.subset);
  add("discovery", c.type);
  add("load balancer", c.lbPolicy + (c.hashing !== undefined ? ` (${c.hashing})` : "") + (c.slowStartWindowMs !== undefined ? `, slow start ${ms(c.slowStartWindowMs)}` : ""));
  add("connect timeout", ms(c.connectTimeoutMs));
  add("tls", c.tls);
  add("upstream protocol", c.upstreamProtocol);
  const b = c.circuitBreakers;
  add("circuit breakers", b === undefined ? "Envoy defaults" : `max connections ${cbText(b.maxConnections)}, pending ${cbText(b.maxPendingRequests)}, requests ${cbText(b.maxRequests)}, retries ${cbText(b.maxRetries)}`);
  const o = c.outlierDetection;
  add("outlier detection", o === undefined ? "off" : `${o.consecutive5xx} consecutive 5xx (gateway errors ${o.consecutiveGatewayFailure}) every ${ms(o.intervalMs)}: eject for ${ms(o.baseEjectionTimeMs)}+, at most ${o.maxEjectionPercent}%`);
  const p = c.connectionPool;
  if (p !== undefined) {
    const parts = [p.idleTimeoutMs !== undefined ? `idle timeout ${ms(p.idleTimeoutMs)}` : undefined, p.maxRequestsPerConnection !== undefined ? `max requests per connection ${p.maxRequestsPerConnection}` : undefined, p.maxConnectionDurationMs !== undefined ? `max connection duration ${ms(p.maxConnectionDurationMs)}` : undefined].filter((x) => x !== undefined);
    add("connection pool", parts.join(", ") || "defaults");
  }
  const eps = c.endpoints ?? [];
  add("endpoints", eps.length === 0 ? "none" : eps.map((e) => `${e.address}${e.locality !== "" ? ` ${e.locality}` : ""}${e.priority > 0 ? ` p${e.priority}` : ""}${e.health !== "HEALTHY" ? ` ${e.health}` : ""}`).join(", "));
  return out;
}

export function formatExplanation(x: Explanation): string {
  const out: string[] = [];
  const r = x.request;
  out.push(`request      ${r.method} ${r.authority}${r.path}${r.headers.map(([k, v]) => ` ${k}: ${v}`).join(";")}`);
  for (const n of x.notes) out.push(`             (${n})`);
  const l = x.listener;
  out.push(`listener     ${l.name} (${l.address}:${l.port}, ${l.direction.toLowerCase()})`);
  out.push(`filter chain ${x.filterChain === null ? "none matches" : `${x.filterChain.name === "" ? "(unnamed)" : x.filterChain.name} → ${x.filterChain.filter}`}`);
  if (x.tcp !== undefined) {
    out.push(`tcp proxy    ${x.tcp.targets.map((t) => (x.tcp!.targets.length > 1 ? `${t.cluster} ${t.percent}%` : t.cluster)).join(", ")}; idle timeout ${ms(x.tcp.idleTimeoutMs)}`);
  }
  if (x.authorization !== undefined) {
    out.push("authorization (RBAC filters in order):");
    for (const st of x.authorization.steps) out.push(`  ${st.result === "denied" ? "✘" : "✔"} ${st.filter} ${st.action}: ${st.result}${st.matchedPolicy !== null ? ` by ${st.matchedPolicy}` : " (no policy matches)"}`);
  }
  if (x.routeConfig !== undefined) out.push(`route config ${x.routeConfig}`);
  if (x.virtualHost !== undefined) out.push(`virtual host ${x.virtualHost === null ? "none" : x.virtualHost.name}`);
  if (x.otherVirtualHosts !== undefined && x.otherVirtualHosts.length > 0) {
    out.push("  other virtual hosts:");
    for (const v of x.otherVirtualHosts) out.push(`    ${v.name}: ${v.reason}`);
  }
  if (x.routes !== undefined) {
    out.push("routes (first match wins):");
    for (const t of x.routes) {
      const src = t.source !== undefined ? ` [${t.source}]` : "";
      out.push(`  ${t.matched ? "✔" : "✘"} #${t.index} ${t.name}${src}${t.matched ? "  ← taken" : `: ${t.reason}`}`);
    }
  }
  const a = x.action;
  if (a !== undefined) {
    out.push("action");
    const add = (k: string, v: string | undefined): void => void (v !== undefined && v !== "" && out.push(`  ${k.padEnd(18)}${v}`));
    if (a.kind === "forward") {
      add("clusters", a.targets!.map((t) => (a.targets!.length > 1 ? `${t.cluster} weight ${t.weight} (${t.percent}%)` : t.cluster)).join(", "));
      add("rewrite path", a.rewrittenPath);
      add("rewrite host", a.hostRewrite);
      add("timeout", ms(a.timeoutMs));
      add("grpc timeout", a.grpcTimeout);
      add("max stream", a.maxStreamDurationMs !== undefined ? ms(a.maxStreamDurationMs) : undefined);
      add("retries", a.retries === undefined ? "none" : `${a.retries.numRetries} on ${a.retries.retryOn.join(",")}${a.retries.retriableStatusCodes.length > 0 ? ` (status ${a.retries.retriableStatusCodes.join(",")})` : ""}${a.retries.perTryTimeoutMs ? `, per try ${ms(a.retries.perTryTimeoutMs)}` : ""}`);
      add("fault", a.fault !== undefined ? JSON.stringify(a.fault) : undefined);
      add("mirror", a.mirrors !== undefined && a.mirrors.length > 0 ? a.mirrors.map((m) => `${m.cluster} ${m.percent}%`).join(", ") : undefined);
      add("hash policy", a.hashPolicy !== undefined ? JSON.stringify(a.hashPolicy) : undefined);
    }
    if (a.kind === "redirect") add("redirect", JSON.stringify(a.redirect));
    if (a.kind === "direct_response") add("direct response", `${a.directResponse!.status}${a.directResponse!.body !== undefined ? ` ${JSON.stringify(a.directResponse!.body)}` : ""}`);
    add("request headers", [...(a.requestHeadersToAdd ?? []).map((h) => `${h.action === "OVERWRITE_IF_EXISTS_OR_ADD" ? "set" : "add"} ${h.key}: ${h.value}`), ...(a.requestHeadersToRemove ?? []).map((h) => `remove ${h}`)].join("; "));
    add("response headers", [...(a.responseHeadersToAdd ?? []).map((h) => `${h.action === "OVERWRITE_IF_EXISTS_OR_ADD" ? "set" : "add"} ${h.key}: ${h.value}`), ...(a.responseHeadersToRemove ?? []).map((h) => `remove ${h}`)].join("; "));
  }
  if (x.clusters.length > 0) {
    out.push("cluster policies");
    for (const c of x.clusters) out.push(...clusterLines(c));
  }
  out.push(`outcome      ${x.outcome}`);
  return out.join("\n") + "\n";
}
