// DestinationRule trafficPolicy → the model's TrafficPolicy (durations in ms), with istiod's
// validation, plus the precedence merge (top-level < its port level < subset < subset port level).

import type { ClientTlsSettings, ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, TrafficPolicy } from "./istio-traffic-policy.js";
import type { FieldPath } from "./doc-issues.js";
import { parseDuration } from "./duration.js";
import { checkPort } from "./name-rules.js";
import type { ParsedTrafficPolicy } from "./parsed-config.js";
import { warnTrafficPolicyNotEnforced } from "./not-enforced.js";
import type { Obj, SpecReader } from "./spec-reader.js";

const POLICY_FIELDS = ["loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings", "tunnel", "proxyProtocol", "retryBudget"] as const;
const SIMPLE_LB = ["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] as const;
const TLS_MODES = ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] as const;

export function parseTrafficPolicy(r: SpecReader, v: unknown, p: FieldPath): ParsedTrafficPolicy | undefined {
  const o = r.obj(v, p, POLICY_FIELDS);
  if (!o) return undefined;
  const present = POLICY_FIELDS.filter((k) => o[k] !== undefined && o[k] !== null);
  if (present.length === 0) r.issues.error(p, "traffic policy must have at least one field");
  if (o["tunnel"] !== undefined && o["proxyProtocol"] !== undefined) r.issues.error(p, "tunnel and proxyProtocol must not be set together");
  for (const k of ["tunnel", "proxyProtocol", "retryBudget"] as const) {
    if (o[k] !== undefined && o[k] !== null) r.issues.warn([...p, k], `${k} is not supported yet and is ignored`);
  }
  const policy = parsePolicyParts(r, o, p);
  const portLevel: ParsedTrafficPolicy["portLevel"] = [];
  (r.arr(o, "portLevelSettings", p) ?? []).forEach((pl, i) => {
    const pp = [...p, "portLevelSettings", i];
    if (pl === null || pl === undefined) {
      r.issues.error(pp, "traffic policy may not be null");
      return;
    }
    const po = r.obj(pl, pp, ["port", "loadBalancer", "connectionPool", "outlierDetection", "tls"]);
    if (!po) return;
    const portO = r.obj(po["port"], [...pp, "port"], ["number"]);
    const num = portO ? r.int(portO, "number", [...pp, "port"]) : undefined;
    if (num === undefined) r.issues.error([...pp, "port"], "portTrafficPolicy must have valid port");
    else {
      const err = checkPort(num);
      if (err) r.issues.error([...pp, "port", "number"], err);
    }
    if (["loadBalancer", "connectionPool", "outlierDetection", "tls"].every((k) => po[k] === undefined || po[k] === null)) {
      r.issues.error(pp, "port traffic policy must have at least one field");
    }
    const part = parsePolicyParts(r, po, pp);
    if (num !== undefined) portLevel.push({ port: num, policy: part });
  });
  return { policy, portLevel };
}

function parsePolicyParts(r: SpecReader, o: Obj, p: FieldPath): TrafficPolicy {
  const out: TrafficPolicy = {};
  warnTrafficPolicyNotEnforced(r, o, p);
  const od = parseOutlier(r, o["outlierDetection"], [...p, "outlierDetection"]);
  const lb = parseLoadBalancer(r, o["loadBalancer"], [...p, "loadBalancer"], od !== undefined);
  const cp = parseConnectionPool(r, o["connectionPool"], [...p, "connectionPool"]);
  if (lb) out.loadBalancer = lb;
  if (cp) out.connectionPool = cp;
  if (od) out.outlierDetection = od;
  const tls = parseClientTls(r, o["tls"], [...p, "tls"]);
  if (tls) out.tls = tls;
  return out;
}

/** ClientTLSSettings with istiod's ValidateTLS rules (messages as istiod words them) and what Outrigger refuses. */
function parseClientTls(r: SpecReader, v: unknown, p: FieldPath): ClientTlsSettings | undefined {
  const o = r.obj(v, p, ["mode", "clientCertificate", "privateKey", "caCertificates", "credentialName", "subjectAltNames", "sni", "insecureSkipVerify", "caCrl"]);
  if (!o) return undefined;
  // DISABLE is the enum's zero value.
  const out: ClientTlsSettings = { mode: r.enumOf(o, "mode", p, TLS_MODES) ?? "DISABLE", path: p };
  for (const k of ["clientCertificate", "privateKey", "caCertificates", "credentialName", "sni", "caCrl"] as const) {
    const s = r.str(o, k, p);
    if (s !== undefined && s !== "") out[k] = s;
  }
  const sans = r.strArr(o, "subjectAltNames", p);
  if (sans !== undefined) out.subjectAltNames = sans;
  const skip = r.bool(o, "insecureSkipVerify", p);
  if (skip !== undefined) out.insecureSkipVerify = skip;
  const fileOrCred = out.mode === "SIMPLE" || out.mode === "MUTUAL";
  if (out.insecureSkipVerify === true) {
    if (out.mode === "SIMPLE" && (out.caCertificates !== undefined || out.credentialName !== undefined || out.subjectAltNames !== undefined)) {
      r.issues.error(p, "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true");
    }
    if (out.mode === "MUTUAL" && (out.caCertificates !== undefined || out.subjectAltNames !== undefined)) {
      r.issues.error(p, "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
    }
  }
  if (fileOrCred && out.credentialName !== undefined) {
    if (out.clientCertificate !== undefined || out.caCertificates !== undefined || out.privateKey !== undefined || out.caCrl !== undefined) {
      r.issues.error(p, "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
    }
    // Looked up as files under --credentials-dir once the proxy's options are known (cluster-tls.ts).
  } else if (out.mode === "MUTUAL") {
    if (out.clientCertificate === undefined) r.issues.error(p, "client certificate required for mutual tls");
    if (out.privateKey === undefined) r.issues.error(p, "private key required for mutual tls");
  }
  if (out.caCrl !== undefined) r.issues.error([...p, "caCrl"], "caCrl is not supported: certificate revocation lists are not checked, so the setting would be silently ignored");
  return out;
}

function ms(r: SpecReader, o: Obj, key: string, p: FieldPath, zeroMeansOff = false): number | undefined {
  if (o[key] === undefined || o[key] === null) return undefined;
  // istiod accepts a 0s tcp.idleTimeout: the timeout is off.
  if (zeroMeansOff && (o[key] === "0s" || o[key] === "0ms" || o[key] === "0")) return 0;
  const d = parseDuration(o[key]);
  if ("error" in d) {
    r.issues.error([...p, key], d.error);
    return undefined;
  }
  return d.ms;
}

function nonNeg(r: SpecReader, o: Obj, key: string, p: FieldPath, label: string): number | undefined {
  const n = r.int(o, key, p);
  if (n !== undefined && n < 0) {
    r.issues.error([...p, key], `${label} must be non-negative`);
    return undefined;
  }
  return n;
}

function parseConnectionPool(r: SpecReader, v: unknown, p: FieldPath): ConnectionPoolSettings | undefined {
  const o = r.obj(v, p, ["tcp", "http"]);
  if (!o) return undefined;
  if ((o["tcp"] === undefined || o["tcp"] === null) && (o["http"] === undefined || o["http"] === null)) {
    r.issues.error(p, "connection pool must have at least one field");
  }
  const out: ConnectionPoolSettings = {};
  const tp = [...p, "tcp"];
  const t = r.obj(o["tcp"], tp, ["maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration", "idleTimeout"]);
  if (t) {
    const tcp: NonNullable<ConnectionPoolSettings["tcp"]> = {};
    const mc = nonNeg(r, t, "maxConnections", tp, "max connections");
    if (mc !== undefined) tcp.maxConnections = mc;
    const ct = ms(r, t, "connectTimeout", tp);
    if (ct !== undefined) tcp.connectTimeoutMs = ct;
    const mcd = ms(r, t, "maxConnectionDuration", tp);
    if (mcd !== undefined) tcp.maxConnectionDurationMs = mcd;
    const tit = ms(r, t, "idleTimeout", tp, true);
    if (tit !== undefined) tcp.idleTimeoutMs = tit;
    const kp = [...tp, "tcpKeepalive"];
    const ka = r.obj(t["tcpKeepalive"], kp, ["probes", "time", "interval"]);
    if (ka) {
      const k: NonNullable<NonNullable<ConnectionPoolSettings["tcp"]>["tcpKeepalive"]> = {};
      const probes = r.int(ka, "probes", kp, { min: 0 });
      if (probes !== undefined) k.probes = probes;
      const time = ms(r, ka, "time", kp);
      if (time !== undefined) k.timeMs = time;
      const interval = ms(r, ka, "interval", kp);
      if (interval !== undefined) k.intervalMs = interval;
      tcp.tcpKeepalive = k;
    }
    out.tcp = tcp;
  }
  const hp = [...p, "http"];
  const h = r.obj(o["http"], hp, ["http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries", "idleTimeout", "h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams"]);
  if (h) {
    const http: NonNullable<ConnectionPoolSettings["http"]> = {};
    const a = nonNeg(r, h, "http1MaxPendingRequests", hp, "http1 max pending requests");
    if (a !== undefined) http.http1MaxPendingRequests = a;
    const b = nonNeg(r, h, "http2MaxRequests", hp, "http2 max requests");
    if (b !== undefined) http.http2MaxRequests = b;
    const c = nonNeg(r, h, "maxRequestsPerConnection", hp, "max requests per connection");
    if (c !== undefined) http.maxRequestsPerConnection = c;
    const d = nonNeg(r, h, "maxRetries", hp, "max retries");
    if (d !== undefined) http.maxRetries = d;
    const mcs = nonNeg(r, h, "maxConcurrentStreams", hp, "max concurrent streams");
    if (mcs !== undefined) http.maxConcurrentStreams = mcs;
    const it = ms(r, h, "idleTimeout", hp);
    if (it !== undefined) http.idleTimeoutMs = it;
    const up = r.enumOf(h, "h2UpgradePolicy", hp, ["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] as const);
    if (up !== undefined) http.h2UpgradePolicy = up;
    const ucp = r.bool(h, "useClientProtocol", hp);
    if (ucp !== undefined) http.useClientProtocol = ucp;
    if (up === "UPGRADE" && ucp === true) r.issues.error(hp, "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
    out.http = http;
  }
  return out;
}

function parseOutlier(r: SpecReader, v: unknown, p: FieldPath): OutlierDetection | undefined {
  const o = r.obj(v, p, [
    "consecutiveErrors", "consecutive5xxErrors", "consecutiveGatewayErrors", "consecutiveLocalOriginFailures",
    "splitExternalLocalOriginErrors", "interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent",
  ]);
  if (!o) return undefined;
  const out: OutlierDetection = {};
  if (o["consecutiveErrors"] !== undefined) {
    r.int(o, "consecutiveErrors", p, { min: 0 });
    r.issues.warn([...p, "consecutiveErrors"], "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead");
  }
  const c5 = r.int(o, "consecutive5xxErrors", p, { min: 0 });
  if (c5 !== undefined) out.consecutive5xxErrors = c5;
  const cg = r.int(o, "consecutiveGatewayErrors", p, { min: 0 });
  if (cg !== undefined) out.consecutiveGatewayErrors = cg;
  const cl = r.int(o, "consecutiveLocalOriginFailures", p, { min: 0 });
  if (cl !== undefined) out.consecutiveLocalOriginFailures = cl;
  const split = r.bool(o, "splitExternalLocalOriginErrors", p);
  if (split !== undefined) out.splitExternalLocalOriginErrors = split;
  if (!split && (cl ?? 0) > 0) {
    r.issues.error([...p, "consecutiveLocalOriginFailures"], "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false");
  }
  const iv = ms(r, o, "interval", p);
  if (iv !== undefined) out.intervalMs = iv;
  const be = ms(r, o, "baseEjectionTime", p);
  if (be !== undefined) out.baseEjectionTimeMs = be;
  const mx = r.int(o, "maxEjectionPercent", p);
  if (mx !== undefined) {
    if (mx < 0 || mx > 100) r.issues.error([...p, "maxEjectionPercent"], `percentage ${mx} is not in range 0..100`);
    else out.maxEjectionPercent = mx;
  }
  const mh = r.int(o, "minHealthPercent", p);
  if (mh !== undefined) {
    if (mh < 0 || mh > 100) r.issues.error([...p, "minHealthPercent"], `percentage ${mh} is not in range 0..100`);
    else out.minHealthPercent = mh;
  }
  return out;
}

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

function parseLoadBalancer(r: SpecReader, v: unknown, p: FieldPath, hasOutlier: boolean): LoadBalancerSettings | undefined {
  const o = r.obj(v, p, ["simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup"]);
  if (!o) return undefined;
  const out: LoadBalancerSettings = {};
  const simple = r.enumOf(o, "simple", p, SIMPLE_LB);
  if (simple !== undefined) out.simple = simple;
  const chp = [...p, "consistentHash"];
  const ch = r.obj(o["consistentHash"], chp, ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize"]);
  if (simple !== undefined && ch) r.issues.error(p, "only one of simple or consistentHash can be set");
  if (ch) {
    const c: NonNullable<LoadBalancerSettings["consistentHash"]> = {};
    const keys = ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"].filter((k) => ch[k] !== undefined && ch[k] !== null);
    if (keys.length > 1) r.issues.error(chp, `consistentHash may set only one hash key, got ${keys.join(" and ")}`);
    const hn = r.str(ch, "httpHeaderName", chp);
    if (hn !== undefined) c.httpHeaderName = hn;
    const usi = r.bool(ch, "useSourceIp", chp);
    if (usi !== undefined) c.useSourceIp = usi;
    const qp = r.str(ch, "httpQueryParameterName", chp);
    if (qp !== undefined) c.httpQueryParameterName = qp;
    const cp = [...chp, "httpCookie"];
    const cookie = r.obj(ch["httpCookie"], cp, ["name", "path", "ttl", "attributes"]);
    if (cookie) {
      const name = r.str(cookie, "name", cp);
      if (!name) r.issues.error(cp, "name required for HttpCookie");
      const hc: { name: string; path?: string; ttlMs?: number } = { name: name ?? "" };
      const path = r.str(cookie, "path", cp);
      if (path !== undefined) hc.path = path;
      if (cookie["ttl"] !== undefined) {
        const d = parseDuration(cookie["ttl"], { allowZero: true });
        if ("error" in d) r.issues.error([...cp, "ttl"], d.error);
        else hc.ttlMs = d.ms;
      }
      c.httpCookie = hc;
    }
    const mrs = r.int(ch, "minimumRingSize", chp, { min: 0 });
    if (mrs !== undefined && mrs !== 0) {
      c.minimumRingSize = mrs;
      r.issues.warn([...chp, "minimumRingSize"], "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead");
    }
    const rh = r.obj(ch["ringHash"], [...chp, "ringHash"], ["minimumRingSize"]);
    const mg = r.obj(ch["maglev"], [...chp, "maglev"], ["tableSize"]);
    if (mrs && (rh || mg)) r.issues.error(chp, "only one of MinimumRingSize or Maglev/Ringhash can be specified");
    if (rh && mg) r.issues.error(chp, "only one of ringHash or maglev can be specified");
    if (rh) {
      const n = r.int(rh, "minimumRingSize", [...chp, "ringHash"], { min: 0 });
      c.ringHash = n !== undefined ? { minimumRingSize: n } : {};
    }
    if (mg) {
      const mp = [...chp, "maglev"];
      const ts = r.int(mg, "tableSize", mp, { min: 0 }) ?? 0;
      if (ts === 0) r.issues.error(mp, "tableSize must be set for maglev");
      else if (ts >= 5000011) r.issues.error([...mp, "tableSize"], "tableSize must be less than 5000011 for maglev");
      else if (!isPrime(ts)) r.issues.error([...mp, "tableSize"], "tableSize must be a prime number for maglev");
      c.maglev = { tableSize: ts };
    }
    out.consistentHash = c;
  }
  const lp = [...p, "localityLbSetting"];
  const l = r.obj(o["localityLbSetting"], lp, ["enabled", "distribute", "failover", "failoverPriority"]);
  if (l) {
    const ls: NonNullable<LoadBalancerSettings["localityLbSetting"]> = {};
    const en = r.bool(l, "enabled", lp);
    if (en !== undefined) ls.enabled = en;
    const dist: Array<{ from: string; to: Record<string, number> }> = [];
    (r.arr(l, "distribute", lp) ?? []).forEach((d, i) => {
      const dp = [...lp, "distribute", i];
      const dO = r.obj(d, dp, ["from", "to"]);
      if (!dO) return;
      const from = r.str(dO, "from", dp) ?? "";
      const toO = dO["to"];
      const to: Record<string, number> = {};
      let sum = 0;
      if (toO && typeof toO === "object" && !Array.isArray(toO)) {
        for (const [k, w] of Object.entries(toO)) {
          if (typeof w !== "number" || !Number.isInteger(w) || w < 0) r.issues.error([...dp, "to", k], "locality weight must be a non-negative integer");
          else {
            to[k] = w;
            sum += w;
          }
        }
      }
      if (sum !== 100) r.issues.error([...dp, "to"], "total weight across localities must be 100");
      dist.push({ from, to });
    });
    const failover: Array<{ from: string; to: string }> = [];
    (r.arr(l, "failover", lp) ?? []).forEach((f, i) => {
      const fp = [...lp, "failover", i];
      const fo = r.obj(f, fp, ["from", "to"]);
      if (!fo) return;
      const from = r.str(fo, "from", fp) ?? "";
      const to = r.str(fo, "to", fp) ?? "";
      if (from === to) r.issues.error(fp, "locality lb failover settings must specify different regions");
      if (from.includes("/") || to.includes("/") || from.includes("*") || to.includes("*")) r.issues.error(fp, "locality lb failover only specify region");
      failover.push({ from, to });
    });
    const fp = r.strArr(l, "failoverPriority", lp);
    if (dist.length > 0 && failover.length > 0) r.issues.error(lp, "can not simultaneously specify 'distribute' and 'failover'");
    if ((failover.length > 0 || (fp?.length ?? 0) > 0) && !hasOutlier) {
      r.issues.warn(lp, "locality failover only takes effect together with outlierDetection");
    }
    if (dist.length) ls.distribute = dist;
    if (failover.length) ls.failover = failover;
    if (fp) ls.failoverPriority = fp;
    out.localityLbSetting = ls;
  }
  if (o["warmupDurationSecs"] !== undefined) {
    const w = ms(r, o, "warmupDurationSecs", p);
    if (w !== undefined) out.warmupDurationMs = w;
  }
  const wp = [...p, "warmup"];
  const wo = r.obj(o["warmup"], wp, ["duration", "minimumPercent", "aggression"]);
  if (wo) {
    if (o["warmupDurationSecs"] !== undefined && o["warmupDurationSecs"] !== null) r.issues.error(p, "only one of warmupDurationSecs or warmup can be set");
    const d = ms(r, wo, "duration", wp);
    if (wo["duration"] === undefined || wo["duration"] === null) r.issues.error([...wp, "duration"], "warmup duration is required");
    const w: NonNullable<LoadBalancerSettings["warmup"]> = { durationMs: d ?? 0 };
    const mp = r.num(wo, "minimumPercent", wp);
    if (mp !== undefined) {
      if (mp < 0 || mp > 100) r.issues.error([...wp, "minimumPercent"], `minimumPercent ${mp} is not in range 0..100`);
      else w.minimumPercent = mp;
    }
    const ag = r.num(wo, "aggression", wp);
    if (ag !== undefined) {
      if (ag < 1) r.issues.error([...wp, "aggression"], `aggression must be at least 1, got ${ag}`);
      else w.aggression = ag;
    }
    if (d !== undefined) out.warmup = w;
  }
  return out;
}

/** istiod MergeTrafficPolicy for one cluster port: each level replaces whole sections; port level replaces all four. */
export function effectiveTrafficPolicy(top: ParsedTrafficPolicy | undefined, subset: ParsedTrafficPolicy | undefined, port: number): TrafficPolicy | undefined {
  const apply = (base: TrafficPolicy, tp: ParsedTrafficPolicy | undefined): TrafficPolicy => {
    if (!tp) return base;
    let out: TrafficPolicy = { ...base };
    for (const k of ["loadBalancer", "connectionPool", "outlierDetection", "tls"] as const) {
      if (tp.policy[k] !== undefined) (out as Record<string, unknown>)[k] = tp.policy[k];
    }
    const pl = tp.portLevel.find((x) => x.port === port);
    // Per the API docs, port-level settings do not inherit: unset sections fall back to defaults.
    if (pl) out = { ...pl.policy };
    return out;
  };
  const merged = apply(apply({}, top), subset);
  return Object.keys(merged).length > 0 ? merged : undefined;
}
