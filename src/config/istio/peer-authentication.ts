// Istio PeerAuthentication (security.istio.io v1 / v1beta1): parsing with istiod's validation,
// istiod's precedence (ComposePeerAuthentication: workload selector > namespace > mesh-wide in the
// root namespace, the oldest at each level, UNSET inherits, port level over the workload's mode,
// PERMISSIVE by default) and its effect on every inbound listener translation built: the
// per-port chains and the passthrough chains of virtualInbound, and standalone Sidecar ingress
// listeners (see inbound-mtls-chains.ts for the chains per mode).

import type { FilterChain, FilterChainMatch, Listener } from "../model/types.js";
import type { FieldPath } from "./doc-issues.js";
import { buildModeChains, ensureTlsInspector, isHttpChain, isTcpChain, setInboundClientCertDetails, type ChainMode, type PortChains } from "./inbound-mtls-chains.js";
import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext, SecurityOptions } from "./security.js";
import type { SpecReader } from "./spec-reader.js";
import { VIRTUAL_INBOUND_LISTENER } from "./virtual-listeners.js";
import { labelsMatch, parseWorkloadSelector } from "./workload-selector.js";

export const MTLS_MODES = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

export interface ParsedPeerAuthentication {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
  /** selector.matchLabels; absent or empty = the namespace (or the mesh, in the root namespace). */
  selector?: Record<string, string>;
  /** mtls.mode; absent mtls = UNSET. */
  mode: MtlsMode;
  /** portLevelMtls by the workload's port number. */
  portLevel: Array<{ port: number; mode: MtlsMode }>;
}

export const NEEDS_IDENTITY = "needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT";

export function parsePeerAuthentication(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string): ParsedPeerAuthentication | undefined {
  const p: FieldPath = ["spec"];
  const out: ParsedPeerAuthentication = { ref, mode: "UNSET", portLevel: [], ...(createdAt !== undefined ? { createdAt } : {}) };
  if (spec === undefined || spec === null) return out;
  const o = r.obj(spec, p, ["selector", "mtls", "portLevelMtls"]);
  if (!o) return undefined;
  if (o["selector"] !== undefined && o["selector"] !== null) {
    const sel = parseWorkloadSelector(r, o["selector"], [...p, "selector"], "matchLabels");
    if (sel !== undefined && Object.keys(sel).length > 0) out.selector = sel;
  }
  out.mode = parseMode(r, o["mtls"], [...p, "mtls"]);
  const plm = o["portLevelMtls"];
  if (plm !== undefined && plm !== null) {
    const pp = [...p, "portLevelMtls"];
    if (typeof plm !== "object" || Array.isArray(plm)) {
      r.issues.error(pp, "portLevelMtls must be a map of port number to {mode}");
    } else {
      const entries = Object.entries(plm as Record<string, unknown>);
      // istiod ValidatePeerAuthentication, message for message.
      if (entries.length === 0) r.issues.error(pp, "port level mTLS, if defined, must have at least one element");
      if (out.selector === undefined && entries.length > 0) r.issues.error(pp, "mesh/namespace peer authentication cannot have port level mTLS");
      for (const [key, v] of entries) {
        const port = Number(key);
        if (!/^[0-9]+$/.test(key) || port <= 0 || port > 65535) {
          r.issues.error([...pp, key], "port must be in range 1..65535");
          continue;
        }
        out.portLevel.push({ port, mode: parseMode(r, v, [...pp, key]) });
      }
      out.portLevel.sort((a, b) => a.port - b.port);
    }
  }
  return out;
}

function parseMode(r: SpecReader, v: unknown, p: FieldPath): MtlsMode {
  if (v === undefined || v === null) return "UNSET";
  const o = r.obj(v, p, ["mode"]);
  if (!o) return "UNSET";
  return r.enumOf(o, "mode", p, MTLS_MODES) ?? "UNSET";
}

type Level = "workload" | "namespace" | "mesh";
/** Farthest first: each level overrides the ones before it. */
const LEVELS: readonly Level[] = ["mesh", "namespace", "workload"];
type Entry = ParsedSecurity<ParsedPeerAuthentication>;

/** The result of istiod's ComposePeerAuthentication for this proxy. */
export interface EffectivePeerAuthentication {
  /** The workload-level mode (ports without a port-level setting, the passthrough). */
  mode: Exclude<MtlsMode, "UNSET">;
  perPort: Map<number, Exclude<MtlsMode, "UNSET">>;
  chosen: Partial<Record<Level, Entry>>;
}

/** Older first: creationTimestamp (absent = newest), then name, then namespace. */
function olderFirst(a: Entry, b: Entry): number {
  const ta = a.value.createdAt !== undefined ? Date.parse(a.value.createdAt) : Number.POSITIVE_INFINITY;
  const tb = b.value.createdAt !== undefined ? Date.parse(b.value.createdAt) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return (Number.isNaN(ta) ? Infinity : ta) < (Number.isNaN(tb) ? Infinity : tb) ? -1 : 1;
  const na = `${a.value.ref.name}/${a.value.ref.namespace}`;
  const nb = `${b.value.ref.name}/${b.value.ref.namespace}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Which level a policy is for this proxy, or why it does not apply. */
function levelOf(pa: ParsedPeerAuthentication, ctx: Pick<SecurityContext, "namespace" | "rootNamespace" | "proxyLabels">): Level | string {
  const ns = pa.ref.namespace;
  if (pa.selector === undefined) {
    if (ns === ctx.rootNamespace) return "mesh";
    return ns === ctx.namespace ? "namespace" : `namespace ${ns} is not this proxy's (${ctx.namespace})`;
  }
  // istiod ignores selector policies in the root namespace (they are neither mesh-wide nor a workload's).
  if (ns === ctx.rootNamespace) return `a selector in the root namespace ${ns} never applies (istiod ignores it)`;
  if (ns !== ctx.namespace) return `namespace ${ns} is not this proxy's (${ctx.namespace})`;
  return labelsMatch(pa.selector, ctx.proxyLabels) ? "workload" : "selector does not match this proxy's labels";
}

export function composePeerAuthentication(resources: readonly Entry[], ctx: Pick<SecurityContext, "namespace" | "rootNamespace" | "proxyLabels">): EffectivePeerAuthentication {
  const chosen: Partial<Record<Level, Entry>> = {};
  for (const e of [...resources].sort(olderFirst)) {
    const level = levelOf(e.value, ctx);
    if (level === "mesh" || level === "namespace" || level === "workload") chosen[level] ??= e;
  }
  let mode: Exclude<MtlsMode, "UNSET"> = "PERMISSIVE";
  for (const level of ["mesh", "namespace", "workload"] as const) {
    const m = chosen[level]?.value.mode;
    if (m !== undefined && m !== "UNSET") mode = m;
  }
  const perPort = new Map<number, Exclude<MtlsMode, "UNSET">>();
  for (const { port, mode: m } of chosen.workload?.value.portLevel ?? []) perPort.set(port, m === "UNSET" ? mode : m);
  return { mode, perPort, chosen };
}

export function applyPeerAuthentication(resources: ReadonlyArray<ParsedSecurity<ParsedPeerAuthentication>>, ctx: SecurityContext): void {
  const eff = composePeerAuthentication(resources, ctx);
  const hasIdentity = ctx.security.hasIdentity;

  for (const e of resources) {
    const level = levelOf(e.value, ctx);
    const applies = level === "mesh" || level === "namespace" || level === "workload";
    if (!applies) {
      ctx.summary.push(`${e.line}: does not apply to this proxy (${level})`);
      continue;
    }
    if (eff.chosen[level] !== e) {
      const by = eff.chosen[level] as Entry;
      e.issues.warn([], `ignored: PeerAuthentication ${by.value.ref.namespace}/${by.value.ref.name} is older at the same level (${level}); istiod uses the oldest`);
      ctx.summary.push(`${e.line}: does not apply to this proxy (older ${level} policy ${by.value.ref.namespace}/${by.value.ref.name} wins)`);
      continue;
    }
    if (!hasIdentity) {
      // A STRICT a closer level overrides asks nothing of this proxy (a mesh-wide STRICT with a
      // namespace PERMISSIVE is a common install); one in force does.
      const closer = LEVELS.slice(LEVELS.indexOf(level) + 1);
      const overridden = closer.some((lv) => (eff.chosen[lv]?.value.mode ?? "UNSET") !== "UNSET");
      if (e.value.mode === "STRICT" && !overridden) e.issues.error(["spec", "mtls", "mode"], `STRICT ${NEEDS_IDENTITY}`);
      for (const pl of e.value.portLevel) {
        if (pl.mode === "STRICT") e.issues.error(["spec", "portLevelMtls", String(pl.port), "mode"], `STRICT ${NEEDS_IDENTITY}`);
      }
    }
    const ports = e.value.portLevel.map((pl) => `port ${pl.port} ${eff.perPort.get(pl.port) ?? pl.mode}`);
    ctx.summary.push(`${e.line}: applies to this proxy (${level}, mtls ${e.value.mode}${ports.length > 0 ? `; ${ports.join(", ")}` : ""})`);
  }

  // Without a certificate nothing can be terminated: plaintext chains only (STRICT is an error above).
  const chainMode = (m: Exclude<MtlsMode, "UNSET">): ChainMode => (hasIdentity ? m : "DISABLE");
  const modeFor = (port: number): Exclude<MtlsMode, "UNSET"> => eff.perPort.get(port) ?? eff.mode;

  const touched: number[] = [];
  for (const l of ctx.listeners) {
    if (l.trafficDirection !== "INBOUND") continue;
    if (l.name === VIRTUAL_INBOUND_LISTENER) applyToVirtualInbound(l, eff, (port) => chainMode(port === 0 ? eff.mode : modeFor(port)), ctx.security, touched);
    else applyToBoundInbound(l, chainMode(modeFor(l.port)), ctx.security, touched);
    // istiod sets XFCC handling on every inbound HCM; without a certificate no peer can present
    // one, and the plaintext listeners stay exactly as before the security API existed.
    if (hasIdentity) setInboundClientCertDetails(l.filterChains);
  }
  if (resources.length === 0 && !hasIdentity) return;
  const perPort = [...new Set(touched)].filter((p) => p !== 0).sort((a, b) => a - b).map((p) => `${p} ${modeFor(p)}`);
  // The level whose mode is in force (UNSET levels inherit and so do not count).
  const source = (["workload", "namespace", "mesh"] as const).find((lv) => (eff.chosen[lv]?.value.mode ?? "UNSET") !== "UNSET") ?? "default";
  const plaintextNote = hasIdentity ? "" : "; no workload certificate: inbound is plaintext only";
  ctx.summary.push(`peer authentication: ${eff.mode} (${source})${perPort.length > 0 ? `; inbound ports ${perPort.join(", ")}` : ""}${plaintextNote}`);
}

/** Chains of virtualInbound: per-port (`0.0.0.0_<port>` with a destination port) and the passthrough. */
/** What an inbound mTLS context is made from: the trust domain and MeshConfig meshMTLS. */
type InboundTlsOptions = Pick<SecurityOptions, "trustDomain" | "meshMtls">;

function applyToVirtualInbound(l: Listener, eff: EffectivePeerAuthentication, chainMode: (port: number) => ChainMode, tls: InboundTlsOptions, touched: number[]): void {
  const groups = new Map<number, { chains: PortChains; base: FilterChainMatch; original: FilterChain[] }>();
  const keep: Array<FilterChain | number> = [];
  l.filterChains.forEach((c) => {
    const m = c.filterChainMatch;
    // The blackhole chain (destination 15006 itself, a tcp_proxy to BlackHoleCluster) stays.
    if (c.name.endsWith("-blackhole")) {
      keep.push(c);
      return;
    }
    const port = m.destinationPort ?? 0;
    let g = groups.get(port);
    if (!g) {
      g = { chains: {}, base: baseMatch(m), original: [] };
      groups.set(port, g);
      keep.push(port);
    }
    g.original.push(c);
    if (isHttpChain(c)) g.chains.http ??= c;
    else if (isTcpChain(c)) g.chains.tcp ??= c;
  });
  // Port-level settings for ports no service declares get their own passthrough chains (istiod ForPassthrough).
  const pass = groups.get(0);
  if (pass) {
    for (const port of [...eff.perPort.keys()].sort((a, b) => a - b)) {
      if (groups.has(port)) continue;
      groups.set(port, { chains: pass.chains, base: { ...pass.base, destinationPort: port }, original: [] });
      keep.push(port);
    }
  }
  const out: FilterChain[] = [];
  for (const k of keep) {
    if (typeof k !== "number") {
      out.push(k);
      continue;
    }
    const g = groups.get(k);
    if (!g) continue;
    const mode = chainMode(k);
    // Plaintext chains stay as translation built them (the tls_inspector then has nothing to
    // route on TLS for that port, as when istiod disables it there); synthesized ports are built.
    const chains = mode === "DISABLE" && g.original.length > 0 ? g.original : buildModeChains(g.chains, mode, g.base, tls.trustDomain, tls.meshMtls);
    out.push(...chains);
    touched.push(k);
  }
  l.filterChains = out;
  disableTlsInspectorWhereUnused(l);
}

/**
 * istiod's buildTLSInspector: when the passthrough needs the TLS inspector, it is still skipped
 * for the ports whose chains never match on `tls` (they then see every connection as raw_buffer).
 */
function disableTlsInspectorWhereUnused(l: Listener): void {
  const tlsPorts = new Set<number>();
  const ports = new Set<number>();
  let passthroughTls = false;
  for (const c of l.filterChains) {
    const port = c.filterChainMatch.destinationPort;
    const tls = c.filterChainMatch.transportProtocol === "tls";
    if (port === undefined) passthroughTls ||= tls;
    else {
      ports.add(port);
      if (tls) tlsPorts.add(port);
    }
  }
  const inspector = l.listenerFilters.find((f) => f.name === "envoy.filters.listener.tls_inspector");
  if (!passthroughTls || inspector === undefined) return;
  const disabled = new Set((inspector.disabledForDestinationPorts ?? []).flatMap((r) => (r.end - r.start === 1 ? [r.start] : [])));
  const ranges = [...(inspector.disabledForDestinationPorts ?? [])];
  for (const p of [...ports].sort((a, b) => a - b)) {
    if (tlsPorts.has(p) || disabled.has(p)) continue;
    // The blackhole chain's own port (15006) is already there.
    ranges.push({ start: p, end: p + 1 });
  }
  inspector.disabledForDestinationPorts = ranges.sort((a, b) => a.start - b.start);
}

/** A bound inbound listener (Sidecar ingress without interception): one port, one chain. */
function applyToBoundInbound(l: Listener, mode: ChainMode, tls: InboundTlsOptions, touched: number[]): void {
  const chains: PortChains = {};
  for (const c of l.filterChains) {
    if (isHttpChain(c)) chains.http ??= c;
    else if (isTcpChain(c)) chains.tcp ??= c;
  }
  if (!chains.http && !chains.tcp) return;
  touched.push(l.port);
  // DISABLE: plaintext as translation built it.
  if (mode === "DISABLE") return;
  const first = l.filterChains[0] as FilterChain;
  l.filterChains = buildModeChains(chains, mode, baseMatch(first.filterChainMatch), tls.trustDomain, tls.meshMtls);
  ensureTlsInspector(l);
}

function baseMatch(m: FilterChainMatch): FilterChainMatch {
  const { transportProtocol: _t, applicationProtocols: _a, ...rest } = m;
  return rest;
}

/**
 * istiod GetNamespaceMutualTLSMode for a destination namespace (its namespace-wide policy, else the
 * mesh's): whether its services take plaintext only, so auto mTLS must not be offered. Memoized per namespace.
 */
export function serviceMtlsDisabled(resources: readonly Entry[], rootNamespace: string): (namespace: string) => boolean {
  const memo = new Map<string, boolean>();
  return (namespace) => {
    let v = memo.get(namespace);
    if (v === undefined) {
      v = resources.length > 0 && composePeerAuthentication(resources, { namespace, rootNamespace, proxyLabels: {} }).mode === "DISABLE";
      memo.set(namespace, v);
    }
    return v;
  };
}
