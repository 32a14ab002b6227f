// A cluster's upstream TLS as istiod builds it (pilot/pkg/networking/core/cluster_tls.go:
// buildUpstreamTLSSettings, buildUpstreamClusterTLSContext, auto mTLS transport_socket_matches):
// DestinationRule tls DISABLE / SIMPLE / MUTUAL / ISTIO_MUTUAL, or — with no tls setting — auto
// mTLS: ISTIO_MUTUAL to endpoints labelled `tlsMode: istio`, plaintext to the others.

import { existsSync } from "node:fs";
import {
  ROOT_CA_SECRET,
  TLS_TRANSPORT_SOCKET,
  WORKLOAD_SECRET,
  type CertificateValidationContext,
  type Cluster,
  type SanType,
  type TransportSocketConfig,
  type UpstreamTlsContext,
} from "../model/types.js";
import type { ClientTlsSettings } from "./istio-traffic-policy.js";
import type { SecurityOptions } from "./security.js";
import { serviceAccounts, type MeshService } from "./service-registry.js";

/** The endpoint label istiod reads (and the injector writes) for auto mTLS. */
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";
/** istiod's ALPNInMeshWithMxc. The data path never offers istio-peer-exchange (no metadata exchange preamble). */
export const ISTIO_MUTUAL_ALPN = ["istio-peer-exchange", "istio"];
const RAW_BUFFER = "envoy.transport_sockets.raw_buffer";

/** istio-agent's list of system CA bundles (what `caCertificates: system` means), first found wins. */
export const SYSTEM_CA_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
];

export function systemCaBundle(): string | undefined {
  return SYSTEM_CA_BUNDLES.find((f) => existsSync(f));
}

export interface ClusterTlsOptions {
  security: SecurityOptions;
  /** MeshConfig enableAutoMtls (default true). */
  autoMtls: boolean;
  /**
   * istiod BestEffortInferServiceMTLSMode: the mode of the destination namespace's (else the
   * mesh's) PeerAuthentication; DISABLE there turns auto mTLS off for its services.
   */
  serviceMtlsDisabled?: (namespace: string) => boolean;
}

/** istiod BuildDNSSrvSubsetKey: `outbound_.<port>_.<subset>_.<host>` (an empty subset leaves `_._`). */
export function istioMutualSni(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/**
 * istiod writes untyped exact SAN matchers (any SAN type); the model's are typed: a SPIFFE ID (or
 * any URI) is a URI SAN, an address an IP SAN, the rest DNS names.
 */
function sanType(v: string): SanType {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return "URI";
  if (/^[0-9.]+$/.test(v) || v.includes(":")) return "IP_ADDRESS";
  return "DNS";
}

function exactSans(sans: readonly string[]): CertificateValidationContext["matchTypedSubjectAltNames"] {
  return sans.map((s) => ({ sanType: sanType(s), matcher: { exact: s } }));
}

function tlsSocket(ctx: UpstreamTlsContext): TransportSocketConfig {
  return { name: TLS_TRANSPORT_SOCKET, typedConfig: ctx };
}

function istioMutual(sans: readonly string[], sni: string, insecureSkipVerify: boolean): UpstreamTlsContext {
  const dvc: CertificateValidationContext = {};
  if (sans.length > 0) dvc.matchTypedSubjectAltNames = exactSans(sans);
  if (insecureSkipVerify) dvc.trustChainVerification = "ACCEPT_UNTRUSTED";
  return {
    commonTlsContext: {
      tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" },
      tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
      combinedValidationContext: { defaultValidationContext: dvc, validationContextSdsSecretConfig: { name: ROOT_CA_SECRET } },
      alpnProtocols: [...ISTIO_MUTUAL_ALPN],
    },
    sni,
  };
}

/** SIMPLE / MUTUAL with files (credentialName is refused at parse time). */
function fileTls(tls: ClientTlsSettings, defaultSans: readonly string[]): UpstreamTlsContext {
  const ctx: UpstreamTlsContext = { commonTlsContext: { tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" } } };
  if (tls.sni !== undefined) ctx.sni = tls.sni;
  if (tls.mode === "MUTUAL" && tls.clientCertificate !== undefined && tls.privateKey !== undefined) {
    ctx.commonTlsContext.tlsCertificates = [{ certificateChain: { filename: tls.clientCertificate }, privateKey: { filename: tls.privateKey } }];
  }
  if (tls.insecureSkipVerify === true) {
    ctx.commonTlsContext.validationContext = { trustChainVerification: "ACCEPT_UNTRUSTED" };
  } else {
    // istiod: ServiceEntry services (its External registry) without SANs check the service's accounts.
    const sans = tls.subjectAltNames ?? defaultSans;
    const ca = tls.caCertificates ?? systemCaBundle() ?? SYSTEM_CA_BUNDLES[0];
    ctx.commonTlsContext.validationContext = { trustedCa: { filename: ca }, ...(sans.length > 0 ? { matchTypedSubjectAltNames: exactSans(sans) } : {}) };
  }
  return ctx;
}

/** Sets the cluster's transportSocket or transportSocketMatches for its port and subset. */
export function applyClusterTls(cluster: Cluster, tls: ClientTlsSettings | undefined, svc: MeshService, port: number, subset: string, o: ClusterTlsOptions): void {
  const td = o.security.trustDomain;
  const sni = istioMutualSni(port, subset, svc.hostname);
  if (tls === undefined) {
    // Auto mTLS: not for mesh-external services, not without a certificate, not for ORIGINAL_DST
    // clusters (no endpoint labels to match on).
    if (!o.autoMtls || !o.security.hasIdentity || svc.source.location !== "MESH_INTERNAL" || cluster.type === "ORIGINAL_DST") return;
    if (o.serviceMtlsDisabled?.(svc.namespace) === true) return;
    cluster.transportSocketMatches = [
      { name: "tlsMode-istio", match: { tlsMode: "istio" }, transportSocket: tlsSocket(istioMutual(serviceAccounts(svc, td), sni, false)) },
      { name: "tlsMode-disabled", match: {}, transportSocket: { name: RAW_BUFFER } },
    ];
    return;
  }
  switch (tls.mode) {
    case "DISABLE":
      return;
    case "ISTIO_MUTUAL":
      // Without a certificate the DestinationRule is refused (checkDestinationRuleTls).
      if (!o.security.hasIdentity) return;
      cluster.transportSocket = tlsSocket(istioMutual(tls.subjectAltNames ?? serviceAccounts(svc, td), tls.sni ?? sni, tls.insecureSkipVerify === true));
      return;
    case "SIMPLE":
    case "MUTUAL":
      if (tls.credentialName !== undefined) return;
      cluster.transportSocket = tlsSocket(fileTls(tls, serviceAccounts(svc, td)));
      return;
  }
}

/** The tls settings of a DestinationRule, wherever they are written. */
export function destinationRuleTls(dr: { trafficPolicy?: { policy: { tls?: ClientTlsSettings }; portLevel: Array<{ policy: { tls?: ClientTlsSettings } }> }; subsets: Array<{ trafficPolicy?: { policy: { tls?: ClientTlsSettings }; portLevel: Array<{ policy: { tls?: ClientTlsSettings } }> } }> }): ClientTlsSettings[] {
  const out: ClientTlsSettings[] = [];
  for (const tp of [dr.trafficPolicy, ...dr.subsets.map((s) => s.trafficPolicy)]) {
    if (tp === undefined) continue;
    if (tp.policy.tls) out.push(tp.policy.tls);
    for (const pl of tp.portLevel) if (pl.policy.tls) out.push(pl.policy.tls);
  }
  return out;
}

export const ISTIO_MUTUAL_NEEDS_IDENTITY = "ISTIO_MUTUAL needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT";

/** What can only be judged once the proxy's identity and host are known. */
export function checkClientTls(tls: ClientTlsSettings, security: SecurityOptions, error: (path: Array<string | number>, message: string) => void): void {
  if (tls.mode === "ISTIO_MUTUAL" && !security.hasIdentity) error([...tls.path, "mode"], ISTIO_MUTUAL_NEEDS_IDENTITY);
  if ((tls.mode === "SIMPLE" || tls.mode === "MUTUAL") && tls.credentialName === undefined && tls.caCertificates === undefined && tls.insecureSkipVerify !== true && systemCaBundle() === undefined) {
    error(tls.path, `no caCertificates and no system CA bundle (looked for ${SYSTEM_CA_BUNDLES.join(", ")}): the server cannot be verified`);
  }
}
