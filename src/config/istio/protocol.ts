// Istio port protocols: parsing the `protocol` field (ServiceEntry ports: that field only; Sidecar
// ports here also infer from a name prefix such as `http-web`), and how each protocol is served:
// HTTP route tables, tcp_proxy, TLS passthrough by SNI, or detection (pkg/config/protocol).

export const PROTOCOLS = ["HTTP", "HTTP2", "HTTPS", "HTTP_PROXY", "GRPC", "GRPC-WEB", "TCP", "TLS", "UDP", "MONGO", "REDIS", "MYSQL", "HBONE"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Istio protocol.Parse: case-insensitive; undefined when unsupported. */
export function parseProtocol(s: string): Protocol | undefined {
  const up = s.toUpperCase();
  if (up === "GRPC_WEB") return "GRPC-WEB";
  return (PROTOCOLS as readonly string[]).includes(up) ? (up as Protocol) : undefined;
}

/** Protocol of a service port: explicit field, else the name prefix before `-` (Istio's naming convention), else undefined (TCP/sniffed). */
export function portProtocol(protocol: string | undefined, name: string | undefined): Protocol | undefined {
  if (protocol !== undefined && protocol !== "") return parseProtocol(protocol);
  if (name !== undefined && name !== "") {
    const prefix = name.split("-")[0] ?? name;
    return parseProtocol(prefix);
  }
  return undefined;
}

/** Istio Instance.IsHTTP: the protocols the HTTP connection manager serves. */
export function isHttpProtocol(p: Protocol | undefined): boolean {
  return p === "HTTP" || p === "HTTP2" || p === "HTTP_PROXY" || p === "GRPC" || p === "GRPC-WEB";
}

/**
 * The protocols Outrigger serves with a TCP proxy: Istio's TCP family without the TLS ones (TLS
 * and HTTPS need SNI routing, an unset protocol needs detection; both come with interception).
 * Envoy's mongo/mysql/redis filters only add stats in front of tcp_proxy, so those are plain TCP here.
 */
export function isTcpProxyProtocol(p: Protocol | undefined): boolean {
  return p === "TCP" || p === "MONGO" || p === "MYSQL" || p === "REDIS";
}

/** Why a Sidecar port of this protocol gets no standalone listener. */
export function unroutedReason(p: Protocol | undefined): string {
  if (p === undefined) return "protocol detection (an unset protocol) needs --intercept";
  if (p === "TLS" || p === "HTTPS") return "TLS passthrough by SNI needs --intercept";
  return `${p} is not supported`;
}

/**
 * Istio ModelProtocolToListenerProtocol: how a port's listener is built. An unset protocol (Istio's
 * "Unsupported") is sniffed ("auto": an HTTP chain chosen by http_inspector beside the TCP one);
 * UDP and HBONE get no listener.
 */
export type ListenerProtocol = "HTTP" | "TCP" | "AUTO" | "NONE";

export function listenerProtocol(p: Protocol | undefined): ListenerProtocol {
  if (p === undefined) return "AUTO";
  if (isHttpProtocol(p)) return "HTTP";
  if (isTcpProxyProtocol(p) || isTlsProtocol(p)) return "TCP";
  return "NONE";
}

/** Istio Instance.IsTLS: TLS and HTTPS ports are routed by SNI (tls[] routes), bytes passed through. */
export function isTlsProtocol(p: Protocol | undefined): boolean {
  return p === "TLS" || p === "HTTPS";
}

/** Istio Instance.IsHTTPOrSniffed: the ports whose services go into HTTP route configurations. */
export function isHttpOrSniffed(p: Protocol | undefined): boolean {
  return p === undefined || isHttpProtocol(p);
}

/**
 * A ServiceEntry port's protocol: its `protocol` field only, as istiod's convertPort
 * (protocol.Parse) reads it — no port-name inference, which Istio applies to Kubernetes Services
 * only. Empty = undefined = detected (sniffed).
 */
export function serviceEntryPortProtocol(protocol: string | undefined): Protocol | undefined {
  return protocol === undefined || protocol === "" ? undefined : parseProtocol(protocol);
}
