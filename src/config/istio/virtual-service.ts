// VirtualService validation and parsing with istiod's rules (`tcp` rules in tcp-route.ts, `tls` rules in
// tls-route.ts, `corsPolicy` in cors-policy.ts). `delegate` is recognised but not supported yet (a warning);
// timeout, retries, fault, mirrors and corsPolicy are parsed for the route builder.

import type { FieldPath } from "./doc-issues.js";
import { parseCorsPolicy } from "./cors-policy.js";
import { parseDuration } from "./duration.js";
import { parseHeaderOperations } from "./header-operations.js";
import { resolveShortName, hostsMatch, isIpAddress } from "./host-name.js";
import { checkDns1123Label, checkFqdn, checkLabels, checkMatchHeaderName, checkPort, checkWildcardDomain } from "./name-rules.js";
import type { FaultPolicy, FractionalPercent } from "../model/types.js";
import type {
  ConfigRef,
  ParsedDestination,
  ParsedHeaderMatch,
  ParsedHttpRoute,
  ParsedMatch,
  ParsedRedirect,
  ParsedRetries,
  ParsedRewrite,
  ParsedRouteDestination,
  ParsedVirtualService,
} from "./parsed-config.js";
import { isObj, type Obj, type SpecReader } from "./spec-reader.js";
import { checkRegex, parseStringMatch } from "./string-match.js";
import { checkExportTo } from "./export-to-rules.js";
import { parseTcpRoutes } from "./tcp-route.js";
import { parseTlsRoutes } from "./tls-route.js";

const VS_FIELDS = ["hosts", "gateways", "http", "tls", "tcp", "exportTo"] as const;
const HTTP_ROUTE_FIELDS = [
  "name", "match", "route", "redirect", "directResponse", "delegate", "rewrite", "timeout", "retries", "fault",
  "mirror", "mirrors", "mirrorPercentage", "mirrorPercent", "mirror_percent", "corsPolicy", "headers",
] as const;
const MATCH_FIELDS = [
  "name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels", "gateways", "queryParams",
  "ignoreUriCase", "withoutHeaders", "sourceNamespace", "statPrefix",
] as const;
const REDIRECT_CODES = [301, 302, 303, 307, 308];
// Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies (istiod's supportedRetryOnPolicies).
const RETRY_ON = new Set([
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
  "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
  "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
]);
const GRPC_STATUS = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
  "DATA_LOSS", "UNAUTHENTICATED",
];
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"];

export interface VirtualServiceContext {
  ref: ConfigRef;
  domainSuffix: string;
}

export function parseVirtualService(r: SpecReader, spec: unknown, ctx: VirtualServiceContext): ParsedVirtualService | undefined {
  const path: FieldPath = ["spec"];
  if (spec === undefined || spec === null) {
    r.issues.error(path, "spec is required");
    return undefined;
  }
  const o = r.obj(spec, path, VS_FIELDS);
  if (!o) return undefined;
  const ns = ctx.ref.namespace;

  const rawHosts = r.strArr(o, "hosts", path) ?? [];
  const gateways = r.strArr(o, "gateways", path) ?? [];
  gateways.forEach((g, i) => checkGatewayName(r, g, [...path, "gateways", i]));
  const appliesToMesh = gateways.length === 0 || gateways.includes("mesh");

  if (rawHosts.length === 0) {
    r.issues.error([...path, "hosts"], "virtual service must have at least one host (delegate virtual services are not supported yet)");
  }
  let hostsValid = true;
  rawHosts.forEach((h, i) => {
    const err = checkWildcardDomain(h);
    if (err && !isIpAddress(h)) {
      r.issues.error([...path, "hosts", i], err);
      hostsValid = false;
    } else if (appliesToMesh && h === "*") {
      r.issues.error([...path, "hosts", i], "wildcard host * is not allowed for virtual services bound to the mesh gateway");
      hostsValid = false;
    }
  });
  const hosts = rawHosts.map((h) => resolveShortName(h, ns, ctx.domainSuffix));
  if (hostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostsMatch(hosts[i] as string, hosts[j] as string)) {
          r.issues.error([...path, "hosts", j], `duplicate hosts in virtual service: ${rawHosts[i]} & ${rawHosts[j]}`);
        }
      }
    }
  }

  const http = r.arr(o, "http", path) ?? [];
  const tcp = r.arr(o, "tcp", path) ?? [];
  const tls = r.arr(o, "tls", path) ?? [];
  if (http.length === 0 && tcp.length === 0 && tls.length === 0) {
    r.issues.error(path, "http, tcp or tls must be provided in virtual service");
  }

  const exportTo = r.strArr(o, "exportTo", path) ?? [];
  checkExportTo(r, exportTo, ns, [...path, "exportTo"], false);

  const routes: ParsedHttpRoute[] = [];
  let catchAllAt = -1;
  http.forEach((h, i) => {
    const hp = [...path, "http", i];
    if (h === null || h === undefined) {
      r.issues.error(hp, "http route may not be null");
      return;
    }
    const parsed = parseHttpRoute(r, h, hp, i, ctx);
    if (!parsed) return;
    if (catchAllAt >= 0) {
      r.issues.warn(hp, `virtualService rule ${ruleLabel(parsed)} not used (only the last rule can have no matches; http[${catchAllAt}] matches everything)`);
    }
    if (parsed.match.length === 0 && catchAllAt < 0) catchAllAt = i;
    routes.push(parsed);
  });

  const tcpRoutes = parseTcpRoutes(r, tcp, [...path, "tcp"], ctx, (g, gp) => checkGatewayName(r, g, gp));

  const tlsRoutes = parseTlsRoutes(r, tls, [...path, "tls"], ctx, hosts, (g, gp) => checkGatewayName(r, g, gp));
  return { ref: ctx.ref, hosts, gateways, exportTo, http: routes, tcp: tcpRoutes, tls: tlsRoutes };
}

function ruleLabel(r: ParsedHttpRoute): string {
  return r.name !== undefined ? `"${r.name}"` : `#${r.index}`;
}

function checkGatewayName(r: SpecReader, g: string, p: FieldPath): void {
  const parts = g.split("/");
  if (parts.length === 1) {
    const err = checkFqdn(g);
    if (err) r.issues.error(p, `invalid gateway name "${g}": ${err}`);
    else if (g.includes(".")) {
      const segs = g.split(".");
      r.issues.warn(p, `using legacy gatewayName format "${g}"; prefer the <namespace>/<name> format: "${segs[1]}/${segs[0]}"`);
    }
    return;
  }
  const [gns, name] = [parts[0] ?? "", parts.slice(1).join("/")];
  if (gns === "" || name === "") r.issues.error(p, "config namespace and gateway name cannot be empty");
  else {
    if (checkDns1123Label(gns, "namespace")) r.issues.error(p, `invalid value for namespace: "${gns}"`);
    if (checkDns1123Label(name, "gateway name")) r.issues.error(p, `invalid value for gateway name: "${name}"`);
  }
}

function parseHttpRoute(r: SpecReader, v: unknown, p: FieldPath, index: number, ctx: VirtualServiceContext): ParsedHttpRoute | undefined {
  const o = r.obj(v, p, HTTP_ROUTE_FIELDS);
  if (!o) return undefined;
  const out: ParsedHttpRoute = { index, match: [], route: [], mirrors: [] };
  const name = r.str(o, "name", p);
  if (name !== undefined && name !== "") out.name = name;

  (r.arr(o, "match", p) ?? []).forEach((m, i) => {
    const pm = parseMatch(r, m, [...p, "match", i]);
    if (pm) out.match.push(pm);
  });

  const routeList = r.arr(o, "route", p) ?? [];
  let total = 0;
  routeList.forEach((d, i) => {
    const dp = [...p, "route", i];
    if (d === null || d === undefined) {
      r.issues.error(dp, "weight may not be nil");
      return;
    }
    const dO = r.obj(d, dp, ["destination", "weight", "headers"]);
    if (!dO) return;
    if (dO["destination"] === undefined || dO["destination"] === null) {
      r.issues.error([...dp, "destination"], "destination is required");
    }
    const dest = parseDestination(r, dO["destination"], [...dp, "destination"], ctx);
    const weight = r.int(dO, "weight", dp);
    if (weight !== undefined && weight < 0) r.issues.error([...dp, "weight"], `weight ${weight} < 0`);
    total += weight !== undefined && weight > 0 ? weight : 0;
    const headers = dO["headers"] !== undefined ? parseHeaderOperations(r, dO["headers"], [...dp, "headers"]) : undefined;
    if (dest) {
      const rd: ParsedRouteDestination = { destination: dest, weight: weight ?? 0 };
      if (headers) rd.headers = headers;
      out.route.push(rd);
    }
  });
  // Current istiod only requires a positive total; Envoy divides each weight by the sum.
  if (routeList.length > 1 && total === 0) r.issues.error([...p, "route"], "total destination weight = 0");

  const hasRoute = routeList.length > 0;
  const hasRedirect = o["redirect"] !== undefined && o["redirect"] !== null;
  const hasDirect = o["directResponse"] !== undefined && o["directResponse"] !== null;
  const hasDelegate = o["delegate"] !== undefined && o["delegate"] !== null;
  if (hasDelegate) r.issues.warn([...p, "delegate"], "delegate virtual services are not supported yet; rule ignored");
  const actions = [hasRoute && "route", hasRedirect && "redirect", hasDirect && "directResponse"].filter((x): x is string => typeof x === "string");
  if (actions.length === 0 && !hasDelegate) r.issues.error(p, "HTTP route, redirect or directResponse is required");
  if (actions.length > 1) r.issues.error(p, `HTTP route cannot contain both ${actions.join(" and ")}`);
  if (hasRedirect && o["rewrite"] !== undefined && o["rewrite"] !== null) {
    r.issues.error([...p, "rewrite"], "HTTP route rule cannot contain both rewrite and redirect");
  }
  if (hasDirect && o["rewrite"] !== undefined && o["rewrite"] !== null) {
    r.issues.error([...p, "rewrite"], "HTTP route rule cannot contain both rewrite and directResponse");
  }
  if ((hasRedirect || hasDirect) && o["fault"] !== undefined && o["fault"] !== null) {
    r.issues.error([...p, "fault"], `HTTP route cannot contain both fault and ${hasRedirect ? "redirect" : "directResponse"}`);
  }

  if (hasRedirect) {
    const rd = parseRedirect(r, o["redirect"], [...p, "redirect"]);
    if (rd) out.redirect = rd;
  }
  if (hasDirect) {
    const dr = parseDirectResponse(r, o["directResponse"], [...p, "directResponse"]);
    if (dr) out.directResponse = dr;
  }
  if (o["rewrite"] !== undefined && o["rewrite"] !== null) {
    const rw = parseRewrite(r, o["rewrite"], [...p, "rewrite"]);
    if (rw) out.rewrite = rw;
  }
  if (o["headers"] !== undefined && o["headers"] !== null) {
    const h = parseHeaderOperations(r, o["headers"], [...p, "headers"]);
    if (h) {
      out.headers = h;
      if (h.authority !== undefined && out.rewrite?.authority !== undefined) {
        r.issues.error([...p, "headers", "request"], `authority header cannot be set multiple times: have "${out.rewrite.authority}", attempting to set "${h.authority}"`);
      }
    }
  }

  if (o["timeout"] !== undefined && o["timeout"] !== null) {
    const d = parseDuration(o["timeout"], { allowZero: true });
    if ("error" in d) r.issues.error([...p, "timeout"], d.error);
    else out.timeoutMs = d.ms;
  }
  const retries = parseRetries(r, o["retries"], [...p, "retries"]);
  if (retries) out.retries = retries;
  const fault = parseFault(r, o["fault"], [...p, "fault"]);
  if (fault) out.fault = fault;
  parseMirrors(r, o, p, ctx, out);
  if (o["corsPolicy"] !== undefined && o["corsPolicy"] !== null) {
    const cors = parseCorsPolicy(r, o["corsPolicy"], [...p, "corsPolicy"]);
    if (cors) out.cors = cors;
  }
  return out;
}

function parseMatch(r: SpecReader, v: unknown, p: FieldPath): ParsedMatch | undefined {
  if (v === null || v === undefined) {
    // istiod treats a null match block as match-all.
    return { headers: [], withoutHeaders: [], queryParams: [], ignoreUriCase: false, gateways: [] };
  }
  const o = r.obj(v, p, MATCH_FIELDS);
  if (!o) return undefined;
  const m: ParsedMatch = { headers: [], withoutHeaders: [], queryParams: [], ignoreUriCase: false, gateways: [] };
  const name = r.str(o, "name", p);
  if (name !== undefined && name !== "") m.name = name;
  for (const k of ["uri", "scheme", "method", "authority"] as const) {
    if (o[k] === undefined || o[k] === null) continue;
    const res = parseStringMatch(r, o[k], [...p, k], false);
    if (res.matcher) m[k] = res.matcher;
  }
  if (m.method?.exact !== undefined && !HTTP_METHODS.includes(m.method.exact)) {
    r.issues.warn([...p, "method", "exact"], `"${m.method.exact}" is not a standard HTTP method (methods are case-sensitive)`);
  }
  for (const k of ["headers", "withoutHeaders", "queryParams"] as const) {
    const mapV = o[k];
    if (mapV === undefined || mapV === null) continue;
    if (!isObj(mapV)) {
      r.issues.error([...p, k], "must be a map of string matches");
      continue;
    }
    const list: ParsedHeaderMatch[] = [];
    for (const [hn, hv] of Object.entries(mapV)) {
      const hp = [...p, k, hn];
      if (k !== "queryParams") {
        const err = checkMatchHeaderName(hn);
        if (err) r.issues.error(hp, err);
        if (hn.startsWith("@request.auth.claims")) r.issues.error(hp, "JWT claim based routing is only supported for gateways");
      } else if (hn === "") r.issues.error(hp, "query parameter name cannot be empty");
      const res = parseStringMatch(r, hv, hp, true);
      if (!res.ok) continue;
      const hm: ParsedHeaderMatch = { name: k === "queryParams" ? hn : hn.toLowerCase() };
      if (res.matcher) hm.match = res.matcher;
      list.push(hm);
    }
    m[k] = list;
  }
  const port = r.int(o, "port", p);
  if (port !== undefined) {
    const err = checkPort(port);
    if (err) r.issues.error([...p, "port"], err);
    else m.port = port;
  }
  const sl = r.strMap(o, "sourceLabels", p);
  if (sl) {
    for (const e of checkLabels(sl)) r.issues.error([...p, "sourceLabels"], e);
    m.sourceLabels = sl;
  }
  const sns = r.str(o, "sourceNamespace", p);
  if (sns !== undefined && sns !== "") {
    if (checkDns1123Label(sns, "sourceNamespace")) r.issues.error([...p, "sourceNamespace"], `sourceNamespace match ${sns} is invalid`);
    m.sourceNamespace = sns;
  }
  const gws = r.strArr(o, "gateways", p) ?? [];
  gws.forEach((g, i) => checkGatewayName(r, g, [...p, "gateways", i]));
  m.gateways = gws;
  m.ignoreUriCase = r.bool(o, "ignoreUriCase", p) ?? false;
  r.str(o, "statPrefix", p);
  return m;
}

export function parseDestination(r: SpecReader, v: unknown, p: FieldPath, ctx: VirtualServiceContext): ParsedDestination | undefined {
  const o = r.obj(v, p, ["host", "subset", "port"]);
  if (!o) return undefined;
  const host = r.str(o, "host", p);
  let ok = true;
  if (host === undefined || host === "") {
    r.issues.error([...p, "host"], "destination host is required");
    ok = false;
  } else if (host === "*") {
    r.issues.error([...p, "host"], `invalid destination host ${host}`);
    ok = false;
  } else {
    const err = checkWildcardDomain(host);
    if (err) {
      r.issues.error([...p, "host"], err);
      ok = false;
    }
  }
  const out: ParsedDestination = { host: host !== undefined ? resolveShortName(host, ctx.ref.namespace, ctx.domainSuffix) : "" };
  const subset = r.str(o, "subset", p);
  if (subset !== undefined) {
    const err = subset === "" ? "subset name cannot be empty" : checkDns1123Label(subset, "subset name");
    if (err) {
      r.issues.error([...p, "subset"], err);
      ok = false;
    } else out.subset = subset;
  }
  const po = r.obj(o["port"], [...p, "port"], ["number"]);
  if (po) {
    const n = r.int(po, "number", [...p, "port"]);
    const err = checkPort(n ?? 0);
    if (err) {
      r.issues.error([...p, "port", "number"], err);
      ok = false;
    } else out.port = n as number;
  }
  return ok ? out : undefined;
}

function parseRedirect(r: SpecReader, v: unknown, p: FieldPath): ParsedRedirect | undefined {
  const o = r.obj(v, p, ["uri", "authority", "port", "derivePort", "scheme", "redirectCode"]);
  if (!o) return undefined;
  const out: ParsedRedirect = { redirectCode: 301 };
  const uri = r.str(o, "uri", p);
  const authority = r.str(o, "authority", p);
  const scheme = r.str(o, "scheme", p);
  const port = r.int(o, "port", p);
  const derive = r.enumOf(o, "derivePort", p, ["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] as const);
  const code = r.int(o, "redirectCode", p);
  if (!uri && !authority && port === undefined && derive === undefined && !scheme) {
    r.issues.error(p, "redirect must specify URI, authority, scheme, or port");
  }
  if (port !== undefined && derive !== undefined) r.issues.error(p, "redirect may set only one of port and derivePort");
  if (uri) out.uri = uri;
  if (authority) out.authority = authority;
  if (scheme) {
    if (scheme !== "http" && scheme !== "https") r.issues.error([...p, "scheme"], `invalid redirect scheme, must be "http" or "https"`);
    else out.scheme = scheme;
  }
  if (port !== undefined) {
    const err = checkPort(port);
    if (err) r.issues.error([...p, "port"], err);
    else out.port = port;
  }
  if (derive !== undefined) out.derivePort = derive;
  if (code !== undefined && code !== 0) {
    if (code < 300 || code > 399) r.issues.error([...p, "redirectCode"], `${code} is not a valid redirect code, must be 3xx`);
    else if (!REDIRECT_CODES.includes(code)) r.issues.error([...p, "redirectCode"], `redirect code ${code} is not supported, use one of ${REDIRECT_CODES.join(", ")}`);
    else out.redirectCode = code;
  }
  return out;
}

function parseDirectResponse(r: SpecReader, v: unknown, p: FieldPath): { status: number; body?: string } | undefined {
  const o = r.obj(v, p, ["status", "body"]);
  if (!o) return undefined;
  const status = r.int(o, "status", p);
  if (status === undefined) {
    r.issues.error([...p, "status"], "directResponse status is required");
    return undefined;
  }
  if (status < 200 || status > 599) {
    r.issues.error([...p, "status"], `HTTP status ${status} is not in range 200-599`);
    return undefined;
  }
  const out: { status: number; body?: string } = { status };
  const bo = r.obj(o["body"], [...p, "body"], ["string", "bytes"]);
  if (bo) {
    const s = r.str(bo, "string", [...p, "body"]);
    const b = r.str(bo, "bytes", [...p, "body"]);
    if (s !== undefined && b !== undefined) r.issues.error([...p, "body"], "body may set only one of string and bytes");
    let body = s;
    if (b !== undefined) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b)) r.issues.error([...p, "body", "bytes"], "bytes must be base64");
      else body = Buffer.from(b, "base64").toString("utf8");
    }
    if (body !== undefined) {
      const size = Buffer.byteLength(body);
      if (size > 1024 * 1024) r.issues.error([...p, "body"], "large direct_responses may impact control plane performance, must be less than 1MB");
      else if (size > 100 * 1024) r.issues.warn([...p, "body"], "large direct_responses may impact control plane performance");
      out.body = body;
    }
  }
  return out;
}

function parseRewrite(r: SpecReader, v: unknown, p: FieldPath): ParsedRewrite | undefined {
  const o = r.obj(v, p, ["uri", "authority", "uriRegexRewrite"]);
  if (!o) return undefined;
  const out: ParsedRewrite = {};
  const uri = r.str(o, "uri", p);
  const authority = r.str(o, "authority", p);
  const rro = r.obj(o["uriRegexRewrite"], [...p, "uriRegexRewrite"], ["match", "rewrite"]);
  if (uri && rro) r.issues.error(p, "rewrite may only contain one of URI or UriRegexRewrite");
  if (!uri && !rro && !authority) r.issues.error(p, "rewrite must specify at least one of URI, UriRegexRewrite, or authority");
  if (uri) out.uri = uri;
  if (authority) out.authority = authority;
  if (rro) {
    const rp = [...p, "uriRegexRewrite"];
    const match = r.str(rro, "match", rp);
    const rewrite = r.str(rro, "rewrite", rp);
    if (!match || !rewrite) r.issues.error(rp, "UriRegexRewrite requires both Rewrite and Match fields to be specified");
    else {
      const err = checkRegex(match);
      if (err) r.issues.error([...rp, "match"], err);
      else out.uriRegexRewrite = { match, rewrite };
    }
  }
  return out;
}

function parseRetries(r: SpecReader, v: unknown, p: FieldPath): ParsedRetries | undefined {
  const o = r.obj(v, p, ["attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities", "retryIgnorePreviousHosts", "backoff"]);
  if (!o) return undefined;
  const attempts = r.int(o, "attempts", p);
  if (attempts !== undefined && attempts < 0) r.issues.error([...p, "attempts"], "attempts cannot be negative");
  const retryOn = r.str(o, "retryOn", p);
  if ((attempts ?? 0) === 0 && (o["perTryTimeout"] !== undefined || (retryOn ?? "") !== "" || o["retryRemoteLocalities"] !== undefined)) {
    r.issues.error(p, "http retry policy configured when attempts are set to 0 (disabled)");
  }
  const out: ParsedRetries = { attempts: Math.max(0, attempts ?? 0) };
  if (o["perTryTimeout"] !== undefined) {
    const d = parseDuration(o["perTryTimeout"]);
    if ("error" in d) r.issues.error([...p, "perTryTimeout"], d.error);
    else out.perTryTimeoutMs = d.ms;
  }
  if (o["backoff"] !== undefined) {
    const d = parseDuration(o["backoff"]);
    if ("error" in d) r.issues.error([...p, "backoff"], d.error);
    else out.backoffMs = d.ms;
  }
  if (retryOn) {
    for (const pol of retryOn.split(",")) {
      const isStatus = /^\d{3}$/.test(pol) && Number(pol) >= 100 && Number(pol) <= 599;
      if (!isStatus && !RETRY_ON.has(pol)) r.issues.error([...p, "retryOn"], `"${pol}" is not a valid retryOn policy`);
    }
    out.retryOn = retryOn;
  }
  const rrl = r.bool(o, "retryRemoteLocalities", p);
  if (rrl !== undefined) out.retryRemoteLocalities = rrl;
  const rip = r.bool(o, "retryIgnorePreviousHosts", p);
  if (rip !== undefined) out.retryIgnorePreviousHosts = rip;
  return out;
}

/** istiod MirrorPercent / MirrorPercentByPolicy: unset = 100%, an explicit 0 = no mirror. */
function parseMirrors(r: SpecReader, o: Obj, p: FieldPath, ctx: VirtualServiceContext, out: ParsedHttpRoute): void {
  if (o["mirror"] !== undefined && o["mirror"] !== null) {
    const dest = parseDestination(r, o["mirror"], [...p, "mirror"], ctx);
    let pct: FractionalPercent | undefined = HUNDRED_PERCENT;
    const mpv = percentValue(o["mirrorPercentage"]);
    const old = o["mirrorPercent"] ?? o["mirror_percent"];
    if (o["mirrorPercentage"] !== undefined && o["mirrorPercentage"] !== null) pct = mpv !== undefined && mpv > 0 ? millionths(mpv) : undefined;
    else if (typeof old === "number") pct = old > 0 ? { numerator: Math.trunc(old), denominator: "HUNDRED" } : undefined;
    if (dest && pct) out.mirrors.push({ destination: dest, percentage: pct });
  }
  if (o["mirror"] !== undefined && o["mirror"] !== null && Array.isArray(o["mirrors"]) && o["mirrors"].length > 0) {
    r.issues.error(p, "HTTP route cannot contain both mirror and mirrors");
  }
  (r.arr(o, "mirrors", p) ?? []).forEach((m, i) => {
    const mp = [...p, "mirrors", i];
    const mo = r.obj(m, mp, ["destination", "percentage"]);
    if (m === null || m === undefined) r.issues.error(mp, "mirror cannot be null");
    if (!mo) return;
    let dest: ParsedDestination | undefined;
    if (mo["destination"] === undefined || mo["destination"] === null) r.issues.error([...mp, "destination"], "destination is required for mirrors");
    else dest = parseDestination(r, mo["destination"], [...mp, "destination"], ctx);
    checkPercent(r, mo["percentage"], [...mp, "percentage"], "mirror percentage");
    let pct: FractionalPercent | undefined = HUNDRED_PERCENT;
    if (mo["percentage"] !== undefined && mo["percentage"] !== null) {
      const v = percentValue(mo["percentage"]);
      pct = v !== undefined && v > 0 ? millionths(v) : undefined;
    }
    if (dest && pct) out.mirrors.push({ destination: dest, percentage: pct });
  });
  checkPercent(r, o["mirrorPercentage"], [...p, "mirrorPercentage"], "mirror_percentage");
  for (const old of ["mirrorPercent", "mirror_percent"]) {
    if (o[old] !== undefined && o[old] !== null) {
      const n = r.int(o, old, p, { min: 0, max: 100 });
      if (n !== undefined) r.issues.warn([...p, old], `using deprecated setting "${old}", use "mirrorPercentage" instead`);
    }
  }
}

/** istiod translateIntegerToFractionalPercent(100). */
const HUNDRED_PERCENT: FractionalPercent = { numerator: 100, denominator: "HUNDRED" };

/** istiod translatePercentToFractionalPercent: uint32(value × 10000) per million (Go truncates). */
function millionths(value: number): FractionalPercent {
  return { numerator: Math.trunc(value * 10000), denominator: "MILLION" };
}

function percentValue(v: unknown): number | undefined {
  if (!isObj(v)) return undefined;
  const n = v["value"];
  return typeof n === "number" ? n : n === undefined ? 0 : undefined;
}

function checkPercent(r: SpecReader, v: unknown, p: FieldPath, what: string): void {
  const o = r.obj(v, p, ["value"]);
  if (!o) return;
  const n = r.num(o, "value", p);
  if (n === undefined) return;
  if (n > 100) r.issues.error([...p, "value"], `${what} must have a max value of 100 (it has ${n})`);
  if (n < 0) r.issues.error([...p, "value"], `${what} must have a min value of 0 (it has ${n})`);
}

function checkFaultPercentage(r: SpecReader, o: Obj, p: FieldPath): void {
  const po = r.obj(o["percentage"], [...p, "percentage"], ["value"]);
  if (po) {
    const n = r.num(po, "value", [...p, "percentage"]);
    if (n !== undefined && (n < 0 || n > 100 || (n > 0 && n < 0.0001))) {
      r.issues.error([...p, "percentage", "value"], `percentage ${n} is neither 0.0, nor in range [0.0001, 100.0]`);
    }
  }
  r.int(o, "percent", p, { min: 0, max: 100 });
}

/** istiod TranslateFault: delay percentage (or deprecated int `percent`, 0 when neither), abort percentage (0 when unset). */
function parseFault(r: SpecReader, v: unknown, p: FieldPath): FaultPolicy | undefined {
  const o = r.obj(v, p, ["delay", "abort"]);
  if (!o) return undefined;
  if ((o["delay"] === undefined || o["delay"] === null) && (o["abort"] === undefined || o["abort"] === null)) {
    r.issues.error(p, "HTTP fault injection must have an abort and/or a delay");
  }
  const out: FaultPolicy = {};
  const dp = [...p, "delay"];
  const d = r.obj(o["delay"], dp, ["fixedDelay", "exponentialDelay", "percentage", "percent"]);
  if (d) {
    checkFaultPercentage(r, d, dp);
    if (d["exponentialDelay"] !== undefined) r.issues.error([...dp, "exponentialDelay"], "exponentialDelay not supported yet");
    else if (d["fixedDelay"] === undefined) r.issues.error(dp, "delay requires fixedDelay");
    else {
      const res = parseDuration(d["fixedDelay"]);
      if ("error" in res) r.issues.error([...dp, "fixedDelay"], res.error);
      else out.delay = { fixedDelayMs: res.ms, percentage: faultPercentage(d, true) };
    }
  }
  const ap = [...p, "abort"];
  const a = r.obj(o["abort"], ap, ["httpStatus", "grpcStatus", "http2Error", "percentage"]);
  if (a) {
    checkFaultPercentage(r, a, ap);
    const hs = r.int(a, "httpStatus", ap);
    const gs = r.str(a, "grpcStatus", ap);
    if (a["http2Error"] !== undefined) r.issues.error([...ap, "http2Error"], "HTTP/2 abort fault injection not supported yet");
    else if (hs !== undefined) {
      if (hs < 200 || hs > 599) r.issues.error([...ap, "httpStatus"], `HTTP status ${hs} is not in range 200-599`);
      else out.abort = { httpStatus: hs, percentage: faultPercentage(a, false) };
    } else if (gs !== undefined) {
      // GRPC_STATUS is in code order: the index is the gRPC status code.
      if (!GRPC_STATUS.includes(gs)) r.issues.error([...ap, "grpcStatus"], `gRPC status "${gs}" is not supported, for example use "NOT_FOUND"`);
      else out.abort = { grpcStatus: GRPC_STATUS.indexOf(gs), percentage: faultPercentage(a, false) };
    } else r.issues.warn(ap, "abort configured, but error type not set");
  }
  return out.delay || out.abort ? out : undefined;
}

/**
 * No percentage means 0%, as istiod writes it (the API says "if not specified, no request will be
 * delayed/aborted"): delay falls back to the deprecated int `percent` (0 when absent) per hundred.
 */
function faultPercentage(o: Obj, allowPercentInt: boolean): FractionalPercent {
  if (o["percentage"] !== undefined && o["percentage"] !== null) return millionths(percentValue(o["percentage"]) ?? 0);
  const n = allowPercentInt ? o["percent"] : undefined;
  return { numerator: typeof n === "number" ? Math.trunc(n) : 0, denominator: "HUNDRED" };
}

