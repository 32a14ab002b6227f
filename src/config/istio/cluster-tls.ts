// A cluster's upstream TLS as istiod builds it (pilot/pkg/networking/core/cluster_tls.go:
// buildUpstreamTLSSettings, buildUpstreamClusterTLSContext, auto mTLS transport_socket_matches):
// DestinationRule tls DISABLE / SIMPLE / MUTUAL / ISTIO_MUTUAL, or — with no tls setting — auto
// mTLS: ISTIO_MUTUAL to endpoints labelled `tlsMode: istio`, plaintext to the others.

import type { MeshTlsConfig } from "./mesh-tls-config.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
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

/** The files of a `credentialName` under --credentials-dir, as a mounted Secret lays them out. */
export interface CredentialFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/**
 * `credentialName` NAME as files: DIR/NAME/ holding `tls.crt`, `tls.key`, `ca.crt` (a
 * kubernetes.io/tls Secret mounted as a volume) or `cert`, `key`, `cacert` (Istio's generic
 * Secret); the CA may also be in DIR/NAME-cacert/ (Istio's separate CA Secret).
 */
export function credentialFiles(dir: string, name: string): CredentialFiles {
  const first = (folder: string, names: readonly string[]): string | undefined => names.map((n) => join(dir, folder, n)).find((f) => existsSync(f));
  const out: CredentialFiles = {};
  const cert = first(name, ["tls.crt", "cert"]);
  const key = first(name, ["tls.key", "key"]);
  const ca = first(name, ["ca.crt", "cacert"]) ?? first(`${name}-cacert`, ["ca.crt", "cacert"]);
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (ca !== undefined) out.ca = ca;
  return out;
}

/** The settings with `credentialName` replaced by the files it names (resolvable: checkClientTls said so). */
function withCredentialFiles(tls: ClientTlsSettings, dir: string | undefined): ClientTlsSettings {
  if (tls.credentialName === undefined || dir === undefined) return tls;
  const f = credentialFiles(dir, tls.credentialName);
  const out: ClientTlsSettings = { ...tls };
  delete out.credentialName;
  if (tls.mode === "MUTUAL") {
    if (f.cert !== undefined) out.clientCertificate = f.cert;
    if (f.key !== undefined) out.privateKey = f.key;
  }
  if (f.ca !== undefined) out.caCertificates = f.ca;
  return out;
}

/** SIMPLE / MUTUAL with files (a credentialName resolved to files first). */
function fileTls(tls: ClientTlsSettings, defaultSans: readonly string[], tlsDefaults: MeshTlsConfig | undefined): UpstreamTlsContext {
  const ctx: UpstreamTlsContext = { commonTlsContext: { tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" } } };
  // istiod applyTLSDefaults: MeshConfig tlsDefaults curves and ciphers (SIMPLE / MUTUAL only).
  const params = ctx.commonTlsContext.tlsParams!;
  if (tlsDefaults?.ecdhCurves !== undefined) params.ecdhCurves = [...tlsDefaults.ecdhCurves];
  if (tlsDefaults?.cipherSuites !== undefined) params.cipherSuites = [...tlsDefaults.cipherSuites];
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
      // An unresolvable credentialName was refused (checkClientTls).
      if (tls.credentialName !== undefined && o.security.credentialsDir === undefined) return;
      cluster.transportSocket = tlsSocket(fileTls(withCredentialFiles(tls, o.security.credentialsDir), serviceAccounts(svc, td), o.security.tlsDefaults));
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
  const fileOrCred = tls.mode === "SIMPLE" || tls.mode === "MUTUAL";
  let ca = tls.caCertificates;
  if (fileOrCred && tls.credentialName !== undefined) {
    const name = tls.credentialName;
    const where = [...tls.path, "credentialName"];
    if (security.credentialsDir === undefined) {
      error(where, `credentialName ${name}: run with --credentials-dir DIR to read it from DIR/${name}/ (tls.crt, tls.key, ca.crt), or give the files (clientCertificate, privateKey, caCertificates)`);
      return;
    }
    const f = credentialFiles(security.credentialsDir, name);
    if (tls.mode === "MUTUAL" && (f.cert === undefined || f.key === undefined)) {
      error(where, `credentialName ${name}: no client certificate and key in ${join(security.credentialsDir, name)} (looked for tls.crt + tls.key, cert + key)`);
    }
    ca = f.ca;
  }
  if (fileOrCred && ca === undefined && tls.insecureSkipVerify !== true && systemCaBundle() === undefined) {
    error(tls.path, `no caCertificates and no system CA bundle (looked for ${SYSTEM_CA_BUNDLES.join(", ")}): the server cannot be verified`);
  }
}
