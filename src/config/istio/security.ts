// Istio's security API (security.istio.io) in the in-process istiod: PeerAuthentication (inbound
// mTLS modes → filter chains with DownstreamTlsContexts), RequestAuthentication (→ jwt_authn) and
// AuthorizationPolicy (→ HTTP and network RBAC). Each kind has its own module; this one collects
// the parsed resources and applies them in istiod's order once the listeners exist: peer
// authentication builds the inbound chains' TLS, then JWT and RBAC filters go on every inbound chain.

import type { MeshTlsConfig } from "./mesh-tls-config.js";
import type { SourceDocument } from "../load/load-sources.js";
import type { Cluster, Listener, RouteConfiguration } from "../model/types.js";
import type { DocIssues } from "./doc-issues.js";
import type { JwksLookup } from "./jwks-lookup.js";
import type { ConfigRef } from "./parsed-config.js";
import { SpecReader } from "./spec-reader.js";
import { applyAuthorizationPolicies, parseAuthorizationPolicy, type ParsedAuthorizationPolicy } from "./authorization-policy.js";
import { applyPeerAuthentication, parsePeerAuthentication, type ParsedPeerAuthentication } from "./peer-authentication.js";
import { applyRequestAuthentication, parseRequestAuthentication, type ParsedRequestAuthentication } from "./request-authentication.js";

export const SECURITY_VERSIONS = ["security.istio.io/v1", "security.istio.io/v1beta1"];
export const SECURITY_KINDS = ["PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy"];

/** The proxy's workload identity as translation sees it (from --certs / --ca-address / --trust-domain). */
export interface SecurityOptions {
  /** SPIFFE trust domain (`cluster.local`). */
  trustDomain: string;
  /**
   * A workload certificate is configured (the `default` and `ROOTCA` secrets will exist): mTLS
   * can be offered and required. false: STRICT / ISTIO_MUTUAL are refused with a clear error,
   * PERMISSIVE serves plaintext only, auto mTLS is off.
   */
  hasIdentity: boolean;
  /** `--credentials-dir`: DestinationRule tls `credentialName` NAME is read from DIR/NAME/. Absent = credentialName is refused. */
  credentialsDir?: string;
  /** MeshConfig `meshMTLS` (inbound mTLS contexts) and `tlsDefaults` (SIMPLE / MUTUAL clusters). */
  meshMtls?: MeshTlsConfig;
  tlsDefaults?: MeshTlsConfig;
}

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

/** A parsed security resource and where its problems are reported. */
export interface ParsedSecurity<T> {
  value: T;
  issues: DocIssues;
  /** Summary line prefix (`PeerAuthentication ns/name`). */
  line: string;
}

export class SecurityResources {
  readonly peerAuthentications: Array<ParsedSecurity<ParsedPeerAuthentication>> = [];
  readonly requestAuthentications: Array<ParsedSecurity<ParsedRequestAuthentication>> = [];
  readonly authorizationPolicies: Array<ParsedSecurity<ParsedAuthorizationPolicy>> = [];

  /** Whether translate should hand `doc` here. */
  static handles(doc: SourceDocument): boolean {
    return SECURITY_VERSIONS.includes(doc.apiVersion) && SECURITY_KINDS.includes(doc.kind);
  }

  parse(doc: SourceDocument, issues: DocIssues, ref: ConfigRef, line: string): void {
    const r = new SpecReader(issues);
    switch (doc.kind) {
      case "PeerAuthentication": {
        const v = parsePeerAuthentication(r, doc.spec, ref, doc.metadata.creationTimestamp);
        if (v) this.peerAuthentications.push({ value: v, issues, line });
        break;
      }
      case "RequestAuthentication": {
        const v = parseRequestAuthentication(r, doc.spec, ref, doc.metadata.creationTimestamp);
        if (v) this.requestAuthentications.push({ value: v, issues, line });
        break;
      }
      case "AuthorizationPolicy": {
        const v = parseAuthorizationPolicy(r, doc.spec, ref, doc.metadata.creationTimestamp, doc.metadata.annotations);
        if (v) this.authorizationPolicies.push({ value: v, issues, line });
        break;
      }
    }
  }
}

/** What the security modules work on: the proxy, its identity, and the snapshot being built. */
export interface SecurityContext {
  namespace: string;
  rootNamespace: string;
  proxyLabels: Record<string, string>;
  domainSuffix: string;
  security: SecurityOptions;
  listeners: Listener[];
  routeConfigs: Record<string, RouteConfiguration>;
  clusters: Record<string, Cluster>;
  /** One line per resource: whether it applies to this proxy and what it did. */
  summary: string[];
  /** Errors/warnings not tied to one document (`<options>`). */
  optionError(message: string): void;
  /** RequestAuthentication jwksUri keys (the supervisor's resolver); absent = none fetched. */
  jwks?: JwksLookup;
}

/** Applies the security resources to the translated snapshot, in istiod's order. */
export function applySecurity(res: SecurityResources, ctx: SecurityContext): void {
  applyPeerAuthentication(res.peerAuthentications, ctx);
  applyRequestAuthentication(res.requestAuthentications, ctx);
  applyAuthorizationPolicies(res.authorizationPolicies, ctx);
}
