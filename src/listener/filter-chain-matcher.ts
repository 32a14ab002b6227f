// FilterChainMatcher: picks a listener's filter chain for one connection the way Envoy does. The
// criteria are looked at one after another (destination port, destination IP, server name,
// transport protocol, application protocols, direct source IP, source type, source IP, source
// port); at each step only the chains with the most specific match survive, and a chain that sets
// nothing for a criterion matches it least specifically. No backtracking: when the most specific
// branch fails later, the connection gets the default chain (or none), as in Envoy.

import type { FilterChain, FilterChainMatch } from "../config/model/types.js";
import { CompiledCidr, isLoopback, parseIp, type ParsedIp } from "./cidr.js";
import type { ConnectionInfo } from "./connection-info.js";

/** Specificity of a match at one criterion: -1 = no match, 0 = criterion unset, higher = more specific. */
type Criterion = (m: CompiledMatch, c: ConnView) => number;

interface ConnView {
  info: ConnectionInfo;
  local: ParsedIp | undefined;
  remote: ParsedIp | undefined;
  directRemote: ParsedIp | undefined;
}

interface CompiledMatch {
  chain: FilterChain;
  raw: FilterChainMatch;
  prefixRanges: CompiledCidr[];
  directSourceRanges: CompiledCidr[];
  sourceRanges: CompiledCidr[];
}

function rangeSpecificity(ranges: CompiledCidr[], ip: ParsedIp | undefined): number {
  if (ranges.length === 0) return 0;
  if (ip === undefined) return -1;
  let best = -1;
  for (const r of ranges) if (r.prefixLen + 1 > best && r.contains(ip)) best = r.prefixLen + 1;
  return best;
}

/** Exact names beat wildcards; a longer wildcard suffix beats a shorter one. */
function serverNameSpecificity(names: string[] | undefined, sni: string): number {
  if (names === undefined || names.length === 0) return 0;
  if (sni === "") return -1;
  const name = sni.toLowerCase();
  let best = -1;
  for (const n of names) {
    const pattern = n.toLowerCase();
    if (pattern === name) return 1_000_000;
    if (pattern.startsWith("*.") && name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1) best = Math.max(best, pattern.length);
  }
  return best;
}

const CRITERIA: Criterion[] = [
  (m, c) => (m.raw.destinationPort === undefined ? 0 : m.raw.destinationPort === c.info.localPort ? 1 : -1),
  (m, c) => rangeSpecificity(m.prefixRanges, c.local),
  (m, c) => serverNameSpecificity(m.raw.serverNames, c.info.serverName),
  (m, c) => (m.raw.transportProtocol === undefined || m.raw.transportProtocol === "" ? 0 : m.raw.transportProtocol === c.info.transportProtocol ? 1 : -1),
  (m, c) => {
    const ap = m.raw.applicationProtocols;
    if (ap === undefined || ap.length === 0) return 0;
    return c.info.applicationProtocols.some((p) => ap.includes(p)) ? 1 : -1;
  },
  (m, c) => rangeSpecificity(m.directSourceRanges, c.directRemote),
  (m, c) => {
    const t = m.raw.sourceType ?? "ANY";
    if (t === "ANY") return 0;
    const local = c.remote !== undefined && (isLoopback(c.remote) || (c.local !== undefined && c.local.v6 === c.remote.v6 && c.local.value === c.remote.value));
    return (t === "SAME_IP_OR_LOOPBACK") === local ? 1 : -1;
  },
  (m, c) => rangeSpecificity(m.sourceRanges, c.remote),
  (m, c) => {
    const ports = m.raw.sourcePorts;
    if (ports === undefined || ports.length === 0) return 0;
    return ports.includes(c.info.remotePort) ? 1 : -1;
  },
];

function compileRanges(chain: FilterChain, field: string, ranges: FilterChainMatch["prefixRanges"]): CompiledCidr[] {
  try {
    return (ranges ?? []).map((r) => new CompiledCidr(r));
  } catch (e) {
    throw new Error(`filter chain ${chain.name || "(unnamed)"}: filterChainMatch.${field}: ${(e as Error).message}`);
  }
}

export class FilterChainMatcher {
  private readonly matches: CompiledMatch[];
  private readonly defaultChain: FilterChain | undefined;
  /** One chain that matches everything: no per-connection work at all. */
  private readonly only: FilterChain | undefined;

  constructor(chains: readonly FilterChain[], defaultChain?: FilterChain) {
    this.defaultChain = defaultChain;
    this.matches = chains.map((chain) => ({
      chain,
      raw: chain.filterChainMatch,
      prefixRanges: compileRanges(chain, "prefixRanges", chain.filterChainMatch.prefixRanges),
      directSourceRanges: compileRanges(chain, "directSourcePrefixRanges", chain.filterChainMatch.directSourcePrefixRanges),
      sourceRanges: compileRanges(chain, "sourcePrefixRanges", chain.filterChainMatch.sourcePrefixRanges),
    }));
    const first = this.matches[0];
    this.only = this.matches.length === 1 && first !== undefined && isEmptyMatch(first.raw) ? first.chain : undefined;
  }

  /** The chain for this connection: the most specific match, else the default chain, else undefined. */
  select(info: ConnectionInfo): FilterChain | undefined {
    if (this.only !== undefined) return this.only;
    const view: ConnView = { info, local: parseIp(info.localIp), remote: parseIp(info.remoteIp), directRemote: parseIp(info.directRemoteIp) };
    let candidates = this.matches;
    for (const criterion of CRITERIA) {
      let best = -1;
      let next: CompiledMatch[] = [];
      for (const m of candidates) {
        const s = criterion(m, view);
        if (s < 0 || s < best) continue;
        if (s > best) {
          best = s;
          next = [];
        }
        next.push(m);
      }
      if (next.length === 0) return this.defaultChain;
      candidates = next;
    }
    return candidates[0]?.chain ?? this.defaultChain;
  }
}

function isEmptyMatch(m: FilterChainMatch): boolean {
  return (
    m.destinationPort === undefined &&
    (m.prefixRanges?.length ?? 0) === 0 &&
    (m.serverNames?.length ?? 0) === 0 &&
    (m.transportProtocol ?? "") === "" &&
    (m.applicationProtocols?.length ?? 0) === 0 &&
    (m.directSourcePrefixRanges?.length ?? 0) === 0 &&
    (m.sourceType ?? "ANY") === "ANY" &&
    (m.sourcePrefixRanges?.length ?? 0) === 0 &&
    (m.sourcePorts?.length ?? 0) === 0
  );
}
