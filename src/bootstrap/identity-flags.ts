// The workload-identity flags: where the `default` / `ROOTCA` secrets come from (--certs, a folder
// in Istio's file-mounted layout, or --ca-address, the Istio CA's CreateCertificate API as
// istio-agent calls it) and the SPIFFE identity (--trust-domain, --service-account). Shared by run,
// validate and config-dump, so the offline commands translate with the same identity.

import type { FlagSpec, ParsedFlags } from "./flag-parser.js";
import { flagValue, usageError } from "./flag-parser.js";

/** cluster.local: Istio's default trust domain (MeshConfig.trustDomain). */
export const defaultTrustDomain = "cluster.local";
/** istio-agent's default third-party JWT path (relative to the working directory, as it is in pilot-agent). */
export const defaultCaTokenFile = "./var/run/secrets/tokens/istio-token";
/** istio-agent's CLUSTER_ID default. */
export const defaultClusterId = "Kubernetes";

export type WorkloadKeyType = "ec" | "rsa";

export type IdentitySource =
  | { kind: "certs"; dir: string }
  | {
      kind: "ca";
      /** HOST:PORT of the Istio CA (istiod: 15012). */
      address: string;
      /** PEM file of the root that signs the CA's serving certificate; absent = the system roots. */
      rootFile?: string;
      tokenFile: string;
      clusterId: string;
      keyType: WorkloadKeyType;
    };

export interface IdentitySettings {
  source?: IdentitySource;
  trustDomain: string;
  /** --service-account; with --certs absent = the certificate's SPIFFE URI SAN says. */
  serviceAccount?: string;
  /** --credentials-dir: where DestinationRule tls `credentialName`s are looked up as files. */
  credentialsDir?: string;
}

export const certsFlag: FlagSpec = {
  name: "certs",
  value: "<dir>",
  default: "none (no workload certificate: mTLS cannot be offered or required)",
  help: "workload certificate in Istio's file-mounted layout: cert-chain.pem (leaf first), key.pem, root-cert.pem; watched and reloaded (Kubernetes ..data swaps included), a bad pair keeps the old one serving",
};
export const trustDomainFlag: FlagSpec = { name: "trust-domain", value: "<domain>", default: defaultTrustDomain, help: "SPIFFE trust domain of this mesh (MeshConfig.trustDomain)" };
export const serviceAccountFlag: FlagSpec = {
  name: "service-account",
  value: "<name>",
  default: "with --certs the certificate's SPIFFE ID; with --ca-address $SERVICE_ACCOUNT, else default",
  help: "the proxy's service account (spiffe://TD/ns/NS/sa/NAME)",
};
export const caAddressFlag: FlagSpec = {
  name: "ca-address",
  value: "<host:port>",
  default: "none",
  help: "get the workload certificate from the Istio CA (istiod:15012, IstioCertificateService/CreateCertificate) and renew it at half-life; excludes --certs",
};
export const caRootFlag: FlagSpec = { name: "ca-root", value: "<file>", default: "the system roots", help: "with --ca-address: PEM root that verifies the CA's TLS certificate" };
export const caTokenFileFlag: FlagSpec = { name: "ca-token-file", value: "<file>", default: defaultCaTokenFile, help: "with --ca-address: the JWT sent as `authorization: Bearer`, re-read at each call" };
export const clusterIdFlag: FlagSpec = { name: "cluster-id", value: "<id>", default: `$CLUSTER_ID, else ${defaultClusterId}`, help: "with --ca-address: the ClusterID metadata sent to the CA" };
export const workloadKeyFlag: FlagSpec = {
  name: "workload-key",
  value: "<ec|rsa>",
  default: "ec",
  help: "with --ca-address: the workload key, ec (ECDSA P-256) or rsa (2048 bits; istio-agent's default unless ECC_SIGNATURE_ALGORITHM=ECDSA)",
};

export const credentialsDirFlag: FlagSpec = {
  name: "credentials-dir",
  value: "<dir>",
  default: "none (credentialName is refused)",
  help: "where DestinationRule tls credentialName NAME is read from: DIR/NAME/ holding tls.crt, tls.key, ca.crt (a mounted kubernetes.io/tls Secret) or cert, key, cacert (Istio's generic Secret); the CA may also come from DIR/NAME-cacert/",
};
export const identityFlags: FlagSpec[] = [certsFlag, trustDomainFlag, serviceAccountFlag, caAddressFlag, caRootFlag, caTokenFileFlag, clusterIdFlag, workloadKeyFlag, credentialsDirFlag];

const DNS_LABELS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The identity flags → settings; misuse (both sources, a CA companion without --ca-address) is a usage error. */
export function identityFromFlags(parsed: ParsedFlags, env: Readonly<Record<string, string | undefined>>): IdentitySettings {
  const v = (n: string): string | undefined => flagValue(parsed, n);
  const certs = v("certs");
  const ca = v("ca-address");
  if (certs !== undefined && ca !== undefined) throw usageError("--certs and --ca-address are mutually exclusive: the workload certificate comes from files or from the CA, not both");
  if (ca === undefined) {
    const companion = ["ca-root", "ca-token-file", "cluster-id", "workload-key"].find((n) => v(n) !== undefined);
    if (companion !== undefined) throw usageError(`--${companion} needs --ca-address`);
  }
  const trustDomain = v("trust-domain") ?? defaultTrustDomain;
  if (!DNS_LABELS.test(trustDomain)) throw usageError(`--trust-domain: "${trustDomain}" is not a valid trust domain (lower-case DNS name)`);
  const sa = v("service-account");
  if (sa !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(sa)) throw usageError(`--service-account: "${sa}" is not a valid service account name`);
  const settings: IdentitySettings = { trustDomain };
  const credentialsDir = v("credentials-dir");
  if (credentialsDir !== undefined) {
    if (credentialsDir === "") throw usageError("--credentials-dir: expected a folder");
    settings.credentialsDir = credentialsDir;
  }
  if (certs !== undefined) {
    if (certs === "") throw usageError("--certs: expected a folder");
    settings.source = { kind: "certs", dir: certs };
    if (sa !== undefined) settings.serviceAccount = sa;
  } else if (ca !== undefined) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(ca)) throw usageError(`--ca-address: expected host:port (istiod.istio-system.svc:15012), got "${ca}"`);
    const keyText = v("workload-key") ?? "ec";
    if (keyText !== "ec" && keyText !== "rsa") throw usageError(`--workload-key: expected ec or rsa, got "${keyText}"`);
    const root = v("ca-root");
    const envCluster = env["CLUSTER_ID"];
    settings.source = {
      kind: "ca",
      address: ca,
      tokenFile: v("ca-token-file") ?? defaultCaTokenFile,
      clusterId: v("cluster-id") ?? (envCluster !== undefined && envCluster !== "" ? envCluster : defaultClusterId),
      keyType: keyText,
      ...(root !== undefined ? { rootFile: root } : {}),
    };
    const envSa = env["SERVICE_ACCOUNT"];
    settings.serviceAccount = sa ?? (envSa !== undefined && envSa !== "" ? envSa : "default");
  } else if (sa !== undefined) {
    settings.serviceAccount = sa;
  }
  return settings;
}
