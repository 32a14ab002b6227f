// The DestinationRule traffic policy as parsed and validated (Istio-shaped, durations in ms).
// Translation turns it into Envoy cluster fields (cluster-policy.ts); it never reaches the model.

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTlsSettings;
}

/** DestinationRule ClientTLSSettings (validated; see cluster-tls.ts for what the cluster gets). */
export interface ClientTlsSettings {
  mode: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  /** Absent ≠ empty for ISTIO_MUTUAL: absent = the service's accounts (istiod checks for nil). */
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
  caCrl?: string;
  /** Where it was written (`spec.trafficPolicy.tls`, …) for errors found once the identity is known. */
  path: Array<string | number>;
}

export interface LoadBalancerSettings {
  simple?: "UNSPECIFIED" | "LEAST_CONN" | "RANDOM" | "PASSTHROUGH" | "ROUND_ROBIN" | "LEAST_REQUEST";
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttlMs?: number };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: {
    enabled?: boolean;
    distribute?: { from: string; to: Record<string, number> }[];
    failover?: { from: string; to: string }[];
    failoverPriority?: string[];
  };
  warmupDurationMs?: number;
  /** Istio `warmup` (newer form of warmupDurationSecs): slow start window and curve. */
  warmup?: { durationMs: number; minimumPercent?: number; aggression?: number };
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeoutMs?: number;
    tcpKeepalive?: { probes?: number; timeMs?: number; intervalMs?: number };
    maxConnectionDurationMs?: number;
    /** Used as the cluster idle timeout when http.idleTimeout is unset (istiod). */
    idleTimeoutMs?: number;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeoutMs?: number;
    /** DEFAULT, DO_NOT_UPGRADE or UPGRADE (validated). */
    h2UpgradePolicy?: string;
    useClientProtocol?: boolean;
    /** HTTP/2 streams per upstream connection (explicit HTTP/2 clusters only; 0 = Envoy's default). */
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}
