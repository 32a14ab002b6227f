// What `outrigger run --intercept` tells the translation: the two capture ports istio-iptables
// redirects to, the inbound interception mode and the proxy's uid (istio-iptables' -p, -z, -m, -u).

/** 15001: Istio's ProxyListenPort, where istio-iptables redirects outbound TCP (`-p`). */
export const DEFAULT_OUTBOUND_CAPTURE_PORT = 15001;
/** 15006: Istio's ProxyInboundListenPort, where istio-iptables redirects inbound TCP (`-z`). */
export const DEFAULT_INBOUND_CAPTURE_PORT = 15006;
/** 1337: istio-iptables' DefaultProxyUID, whose traffic is never captured. */
export const DEFAULT_PROXY_UID = 1337;

export const INTERCEPTION_MODES = ["REDIRECT", "TPROXY"] as const;
export type InterceptionMode = (typeof INTERCEPTION_MODES)[number];

export interface Interception {
  outboundPort: number;
  inboundPort: number;
  /** REDIRECT (nat) or TPROXY (mangle; the virtual listeners are then transparent). */
  mode: InterceptionMode;
  /** Informational: the uid istio-iptables exempts (shown in config_dump). */
  proxyUid: number;
  /**
   * How long the inspectors of sniffed listeners wait for a client's first bytes before the
   * connection goes on as TCP (MeshConfig `protocolDetectionTimeout`; 0 = wait for ever). Absent =
   * DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS.
   */
  protocolDetectionTimeoutMs?: number;
  /**
   * Dual stack ($ISTIO_DUAL_STACK, as istio-agent / istiod / istio-iptables read it): the wildcard
   * listeners get `::` as an additional address (istiod's actualWildcards[1:]). Absent = false.
   */
  dualStack?: boolean;
}

/** IPv4 and IPv6 wildcards, istiod's wildCards[Dual]. */
export const IPV6_WILDCARD = "::";

/** istiod BuildAdditionalAddresses(actualWildcards[1:]): `::` for a dual-stack proxy, nothing otherwise. */
export function wildcardAdditionalAddresses(ic: Interception): Array<{ address: string }> | undefined {
  return ic.dualStack === true ? [{ address: IPV6_WILDCARD }] : undefined;
}

/**
 * 100 ms: Outrigger's protocol-detection timeout when MeshConfig sets none. istiod's default has
 * been 0s (no timeout) since 1.10, which holds a server-first client (MySQL, SMTP…) on a port
 * without a declared protocol for ever; 100 ms is istiod's earlier default: such a client gets
 * its server's greeting 100 ms late instead of never. `protocolDetectionTimeout: 0s` restores
 * istiod's current behaviour.
 */
export const DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS = 100;

export function defaultInterception(): Interception {
  return { outboundPort: DEFAULT_OUTBOUND_CAPTURE_PORT, inboundPort: DEFAULT_INBOUND_CAPTURE_PORT, mode: "REDIRECT", proxyUid: DEFAULT_PROXY_UID };
}
