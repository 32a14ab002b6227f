// The tiny in-process istiod: validates Istio networking resources (collecting every error with
// file, line and field path) and builds the Envoy-shaped listeners, route configurations and
// clusters one sidecar proxy needs. Pure: no I/O, no data-path imports.

import type { ConfigError } from "../model/config-error.js";
import type { Cluster, Listener, Locality, RouteConfiguration } from "../model/types.js";
import type { SourceDocument } from "../load/load-sources.js";
import type { MeshConfigDocument } from "../load/load-mesh-config.js";
import type { OtelEnv } from "../../bootstrap/otel-env.js";
import { emptyOtelEnv } from "../../bootstrap/otel-env.js";
import { nodeIdentity, type NodeIdentity } from "../../observability/node-identity.js";
import { chooseMeshConfig, isMeshConfigMap, meshConfigSummary } from "./mesh-config-source.js";
import { parseTelemetry, TELEMETRY_VERSIONS, type ParsedTelemetry } from "./telemetry-api.js";
import { applicableTelemetry, applyTelemetry, resolveTelemetry } from "./telemetry-resolve.js";
import { buildOutboundClusters } from "./cluster-builder.js";
import { DestinationRuleIndex } from "./destination-rule-index.js";
import { parseDestinationRule } from "./destination-rule.js";
import { DocIssues } from "./doc-issues.js";
import { isExportedTo } from "./export-to.js";
import {
  buildInbound,
  buildOutboundListener,
  DEFAULT_EGRESS_BIND,
  EgressImport,
  egressRouteConfigName,
  HTTP_PROXY_ROUTE_CONFIG,
  inboundCluster,
  inboundClusterName,
  inboundRouteConfig,
} from "./listener-builder.js";
import { tcpInboundListener, tcpOutboundListener, tcpProxyFor, type TcpRouteContext } from "./tcp-listener-builder.js";
import type {
  ConfigRef,
  ParsedDestinationRule,
  ParsedServiceEntry,
  ParsedSidecar,
  ParsedSidecarIngress,
  ParsedVirtualService,
  ParsedWorkloadEntry,
} from "./parsed-config.js";
import { isHttpProtocol, isTcpProxyProtocol, portProtocol, unroutedReason } from "./protocol.js";
import { buildHttpProxyRouteConfig, buildPortRouteConfig, httpPorts, type RouteConfigInput } from "./route-config-builder.js";
import type { RouteContext } from "./route-builder.js";
import { buildServiceRegistry, type MeshService } from "./service-registry.js";
import { parseServiceEntry } from "./service-entry.js";
import { parseSidecar, selectSidecar } from "./sidecar.js";
import { SpecReader } from "./spec-reader.js";
import { parseVirtualService } from "./virtual-service.js";
import { parseWorkloadEntry } from "./workload-entry.js";
import type { JwksLookup } from "./jwks-lookup.js";
import { checkClientTls, destinationRuleTls } from "./cluster-tls.js";
import { serviceMtlsDisabled } from "./peer-authentication.js";
import { applySecurity, DEFAULT_TRUST_DOMAIN, SecurityResources, type SecurityOptions } from "./security.js";
import { DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS, wildcardAdditionalAddresses, type Interception } from "./interception.js";
import { buildInterceptInbound, inboundPortsFromServiceEntries } from "./intercept-inbound.js";
import { buildInterceptOutbound } from "./intercept-outbound.js";
import { decideUpstreamProtocol } from "./upstream-protocol.js";
import { applyDownstreamHttp2 } from "./connection-settings.js";
import { catchAllVirtualHost, fallthroughCluster, resolveOutboundTrafficPolicy, type OutboundTrafficPolicy } from "./outbound-traffic-policy.js";
import {
  blackHoleCluster,
  INBOUND_PASSTHROUGH_CLUSTER,
  inboundPassthroughCluster,
  passthroughCluster,
  virtualInboundListener,
  virtualOutboundListener,
} from "./virtual-listeners.js";

export interface TranslateOptions {
  /** The proxy's namespace. */
  namespace: string;
  /** The proxy's workload labels. */
  proxyLabels: Record<string, string>;
  /** Kubernetes cluster domain, "cluster.local". */
  domainSuffix: string;
  /** The default outbound (HTTP proxy) listener address, or null for none. */
  defaultOutbound: { address: string; port: number } | null;
  /** The proxy's own locality (locality failover/distribute). Absent = empty locality. */
  proxyLocality?: Locality;
  /**
   * Istio <= 1.27 behaviour: mirrored requests get the `-shadow` Host suffix. Absent/false = Istio
   * >= 1.28 (route mirror policies set disableShadowHostSuffixAppend).
   */
  mirrorShadowSuffix?: boolean;
  /** `--mesh-config FILE`, loaded (load-mesh-config.ts); it wins over an `istio` ConfigMap among the documents. */
  meshConfig?: MeshConfigDocument;
  /** `--root-namespace`: used when the MeshConfig sets no rootNamespace (default istio-system). */
  rootNamespace?: string;
  /** The OTEL_* environment (bootstrap/otel-env.ts); absent = none set. */
  otel?: OtelEnv;
  /** Who this proxy is (span service name, istio.* span tags); absent = derived from namespace and labels. */
  node?: NodeIdentity;
  /** Environment for extension provider headers' `envName` (istiod reads its own). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Add `istio.metadata_exchange` and `istio.stats` (HTTP) / `istioStats` (TCP) as istiod does.
   * Default DEFAULT_TELEMETRY_FILTERS (on); tests of other features may turn them off.
   */
  telemetryFilters?: boolean;
  /** RequestAuthentication jwksUri keys (the supervisor's JwksResolver); absent = jwksUri providers stay pending. */
  jwks?: JwksLookup;
  /**
   * `--intercept`: build what istiod builds for a sidecar behind istio-iptables (virtualOutbound,
   * virtualInbound, per-port outbound listeners, passthrough clusters). Absent = off.
   */
  intercept?: Interception;
  /**
   * Workload identity for the security API (mTLS, authorization principals). Absent = trust domain
   * `cluster.local`, no workload certificate.
   */
  security?: SecurityOptions;
}

/** Whether translation adds the metadata exchange and stats filters when the option is not given. */
export const DEFAULT_TELEMETRY_FILTERS = true;

export interface TranslateResult {
  snapshot: { listeners: Listener[]; routeConfigs: Record<string, RouteConfiguration>; clusters: Record<string, Cluster> };
  /** severity "error": the config must be refused. */
  errors: ConfigError[];
  /** Unsupported kinds/fields ignored, etc. */
  warnings: ConfigError[];
  /** One line per resource. */
  summary: string[];
  /** Cluster name → the protocol it speaks upstream and why (`HTTP/2 (port protocol GRPC)`), for `explain`. */
  upstreamProtocols?: Record<string, string>;
}

const NETWORKING_VERSIONS = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"];
const SUPPORTED_KINDS = ["VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "Sidecar"];

interface Parsed<T> {
  value: T;
  issues: DocIssues;
  line: string;
}

export function translate(documents: SourceDocument[], opts: TranslateOptions): TranslateResult {
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  const summary: string[] = [];

  const vss: Array<Parsed<ParsedVirtualService>> = [];
  const drs: Array<Parsed<ParsedDestinationRule>> = [];
  const ses: Array<Parsed<ParsedServiceEntry>> = [];
  const wes: Array<Parsed<ParsedWorkloadEntry>> = [];
  const sidecars: Array<Parsed<ParsedSidecar>> = [];
  const telemetries: Array<Parsed<ParsedTelemetry>> = [];
  const meshMaps: SourceDocument[] = [];
  const security = new SecurityResources();
  const seen = new Map<string, SourceDocument>();

  for (const doc of documents) {
    const issues = new DocIssues(doc, errors, warnings);
    const namespace = doc.metadata.namespace ?? opts.namespace;
    const ident = `${doc.kind} ${namespace}/${doc.metadata.name || "<unnamed>"}`;
    if (isMeshConfigMap(doc)) {
      meshMaps.push(doc);
      continue;
    }
    const isTelemetry = doc.kind === "Telemetry" && TELEMETRY_VERSIONS.includes(doc.apiVersion);
    const isSecurity = SecurityResources.handles(doc);
    if (!isTelemetry && !isSecurity && (!NETWORKING_VERSIONS.includes(doc.apiVersion) || !SUPPORTED_KINDS.includes(doc.kind))) {
      issues.warn([], `ignored: ${doc.kind} is not supported by outrigger yet`);
      summary.push(`${ident}: ignored (${doc.apiVersion} ${doc.kind} is not supported yet)`);
      continue;
    }
    if (doc.metadata.name === "") {
      issues.error(["metadata", "name"], "metadata.name is required");
      continue;
    }
    const key = `${doc.kind}/${namespace}/${doc.metadata.name}`;
    const prev = seen.get(key);
    if (prev) {
      issues.error(["metadata", "name"], `duplicate ${doc.kind} ${namespace}/${doc.metadata.name} (first defined at ${prev.file}:${prev.lineOf([])})`);
      continue;
    }
    seen.set(key, doc);
    const ref: ConfigRef = { kind: doc.kind, name: doc.metadata.name, namespace, file: doc.file };
    if (isSecurity) {
      security.parse(doc, issues, ref, ident);
      continue;
    }
    const r = new SpecReader(issues);
    switch (doc.kind) {
      case "VirtualService": {
        const v = parseVirtualService(r, doc.spec, { ref, domainSuffix: opts.domainSuffix });
        if (v) vss.push({ value: v, issues, line: ident });
        break;
      }
      case "DestinationRule": {
        const v = parseDestinationRule(r, doc.spec, ref, opts.domainSuffix);
        if (v) drs.push({ value: v, issues, line: ident });
        break;
      }
      case "ServiceEntry": {
        const v = parseServiceEntry(r, doc.spec, ref);
        if (v) ses.push({ value: v, issues, line: ident });
        break;
      }
      case "WorkloadEntry": {
        const v = parseWorkloadEntry(r, doc.spec, ref);
        if (v) wes.push({ value: v, issues, line: ident });
        break;
      }
      case "Sidecar": {
        const v = parseSidecar(r, doc.spec, ref);
        if (v) sidecars.push({ value: v, issues, line: ident });
        break;
      }
      case "Telemetry": {
        const v = parseTelemetry(issues, doc.spec, ref, doc.metadata.creationTimestamp);
        if (v) telemetries.push({ value: v, issues, line: ident });
        break;
      }
    }
  }

  const ns = opts.namespace;
  const meshChoice = chooseMeshConfig(meshMaps, opts.meshConfig, opts.rootNamespace, errors, warnings);
  const rootNs = meshChoice.rootNamespace;
  const node = opts.node ?? nodeIdentity({ env: {}, namespace: ns, labels: opts.proxyLabels, domainSuffix: opts.domainSuffix });
  const applicable = applicableTelemetry(telemetries.map((t) => t.value), rootNs, ns, opts.proxyLabels);
  for (const { telemetry, by } of applicable.shadowed) {
    telemetries.find((t) => t.value === telemetry)?.issues.warn([], `ignored: Telemetry ${by.ref.namespace}/${by.ref.name} is older and also applies to the whole namespace (istiod uses the oldest; give this one a selector or merge them)`);
  }
  const registry = buildServiceRegistry(ses.map((s) => s.value), wes.map((w) => w.value), ns);
  const servicesByHost = new Map(registry.map((s) => [s.hostname, s] as const));
  const drIndex = new DestinationRuleIndex(drs.map((d) => d.value), ns, opts.proxyLabels, rootNs);
  const meshVss = vss.filter((v) => appliesToMesh(v.value) && isExportedTo(v.value.exportTo, v.value.ref.namespace, ns));
  const sidecar = selectSidecar(sidecars.map((s) => s.value), ns, opts.proxyLabels, rootNs);

  checkDestinations(meshVss, servicesByHost, drIndex);
  summarise(summary, { vss, drs, ses, wes, sidecars }, ns, sidecar, registry);
  if (meshChoice.doc !== undefined) summary.push(meshConfigSummary(meshChoice));
  for (const { value: t, line } of telemetries) {
    const counts = `${t.tracing.length} tracing, ${t.accessLogging.length} accessLogging, ${t.metrics.length} metrics`;
    summary.push(`${line}: ${counts} (${applicable.applied.includes(t) ? "applies to this proxy" : "does not apply to this proxy"})`);
  }

  const listeners: Listener[] = [];
  const routeConfigs: Record<string, RouteConfiguration> = {};
  let ic = opts.intercept;
  // istiod's trust domain is MeshConfig.trustDomain; an explicit --trust-domain (not the default) wins.
  const givenSecurity = opts.security ?? { trustDomain: DEFAULT_TRUST_DOMAIN, hasIdentity: false };
  const meshTrustDomain = meshChoice.mesh.trustDomain;
  const securityOpts: SecurityOptions = {
    ...(givenSecurity.trustDomain === DEFAULT_TRUST_DOMAIN && meshTrustDomain !== undefined ? { ...givenSecurity, trustDomain: meshTrustDomain } : givenSecurity),
    ...(meshChoice.mesh.meshMTLS !== undefined ? { meshMtls: meshChoice.mesh.meshMTLS } : {}),
    ...(meshChoice.mesh.tlsDefaults !== undefined ? { tlsDefaults: meshChoice.mesh.tlsDefaults } : {}),
  };
  const autoMtls = meshChoice.mesh.enableAutoMtls ?? true;
  const upstreamProtocols: Record<string, string> = {};
  for (const d of drs) for (const t of destinationRuleTls(d.value)) checkClientTls(t, securityOpts, (path, message) => d.issues.error(path, message));
  if (securityOpts.hasIdentity) summary.push(`auto mTLS: ${autoMtls ? "on (ISTIO_MUTUAL to endpoints labelled security.istio.io/tlsMode: istio)" : "off (MeshConfig enableAutoMtls: false)"}`);
  else if (autoMtls && registry.some((s) => s.source.location === "MESH_INTERNAL")) summary.push("auto mTLS: off (no workload certificate: upstream connections are plaintext unless a DestinationRule sets SIMPLE or MUTUAL)");
  const clusters: Record<string, Cluster> = buildOutboundClusters(registry, drIndex, { meshH2UpgradePolicy: meshChoice.mesh.h2UpgradePolicy, upstreamProtocols, proxyLocality: opts.proxyLocality ?? {}, proxyLabels: opts.proxyLabels, tls: { security: securityOpts, autoMtls, serviceMtlsDisabled: serviceMtlsDisabled(security.peerAuthentications, rootNs) } });
  const ctx: RouteContext = { proxyNamespace: ns, proxyLabels: opts.proxyLabels, servicesByHost, drs: drIndex, mirrorShadowSuffix: opts.mirrorShadowSuffix ?? false };
  const inputFor = (imp: EgressImport): RouteConfigInput => ({
    services: registry.filter((s) => imp.service(s)),
    virtualServices: meshVss.map((v) => v.value).filter((v) => imp.virtualService(v)),
    ctx,
    domainSuffix: opts.domainSuffix,
  });
  const sidecarIssues = sidecar ? sidecars.find((s) => s.value === sidecar)?.issues : undefined;
  const addListener = (l: Listener, at: (() => void) | undefined): void => {
    const clash = listeners.find((x) => x.address === l.address && x.port === l.port);
    if (clash) {
      if (at) at();
      else errors.push({ file: "<options>", line: 0, path: "defaultOutbound", message: `listener ${l.name} conflicts with listener ${clash.name} on the same address and port`, severity: "error" });
      return;
    }
    listeners.push(l);
  };

  // The catch-all egress (no port) decides what the default listener and per-port routes import;
  // without one, the union of the Sidecar's egress hosts.
  const egress = sidecar?.egress ?? [];
  const catchAll = egress.find((e) => e.port === undefined);
  // A Sidecar without egress imports everything, as istiod's default egress listener (`*/*`).
  const defaultImport = !sidecar || egress.length === 0 ? new EgressImport(undefined) : new EgressImport(catchAll ? catchAll.hosts : egress.flatMap((e) => e.hosts));

  // With interception the ingress ports are chains of virtualInbound (added below), not bound listeners.
  for (const ing of ic ? [] : (sidecar?.ingress ?? [])) {
    const proto = portProtocol(ing.port.protocol, ing.port.name);
    const path = ["spec", "ingress", ing.index, "port"];
    if (isTcpProxyProtocol(proto)) {
      const cluster = inboundCluster(ing);
      const l = tcpInboundListener(ing, cluster.name);
      addListener(l, () => sidecarIssues?.error(path, `listener ${l.name} is defined twice on the same address and port`));
      clusters[cluster.name] = cluster;
      continue;
    }
    if (!isHttpProtocol(proto)) {
      sidecarIssues?.warn(path, `ingress port ${ing.port.number} (${proto ?? "unset protocol"}) is skipped: ${unroutedReason(proto)}`);
      continue;
    }
    const parts = buildInbound(ing);
    addListener(parts.listener, () => sidecarIssues?.error(path, `listener ${parts.listener.name} is defined twice on the same address and port`));
    routeConfigs[parts.routeConfig.name] = parts.routeConfig;
    clusters[parts.cluster.name] = parts.cluster;
  }

  const tcpCtx: TcpRouteContext = { proxyNamespace: ns, proxyLabels: opts.proxyLabels, servicesByHost, drs: drIndex };
  /**
   * A TCP egress port: one service (the first imported by host name; without the original
   * destination the listener cannot tell services apart), routed by VirtualService tcp rules.
   */
  const addTcpEgress = (port: number, bind: string, input: RouteConfigInput, path: Array<string | number>): void => {
    const [svc, ...others] = input.services;
    if (svc === undefined) {
      sidecarIssues?.warn(path, `egress TCP port ${port} imports no service: no listener`);
      return;
    }
    for (const o of others) {
      sidecarIssues?.warn(path, `egress TCP port ${port}: ${o.hostname} is not reachable on this listener, it proxies to ${svc.hostname} (one service per TCP port until traffic interception brings the original destination)`);
    }
    const choice = tcpProxyFor(svc, port, input.virtualServices, tcpCtx);
    for (const s of choice.skipped) sidecarIssues?.warn(path, `egress TCP port ${port}: ${s} matches only by destinationSubnets, which needs the original destination; not applied`);
    const l = tcpOutboundListener(bind, port, choice.config);
    addListener(l, () => sidecarIssues?.error(path, `listener ${l.name} is defined twice on the same address and port`));
  };

  const egressPorts = new Set<string>();
  for (const eg of egress) {
    if (!eg.port) continue;
    const path = ["spec", "egress", eg.index, "port"];
    const proto = portProtocol(eg.port.protocol, eg.port.name);
    const bind = eg.bind ?? DEFAULT_EGRESS_BIND;
    if (isTcpProxyProtocol(proto)) {
      addTcpEgress(eg.port.number, bind, inputFor(new EgressImport(eg.hosts)), path);
      continue;
    }
    if (!isHttpProtocol(proto)) {
      sidecarIssues?.warn(path, `egress port ${eg.port.number} (${proto ?? "unset protocol"}) is skipped: ${unroutedReason(proto)}`);
      continue;
    }
    const rcName = egressRouteConfigName(eg);
    const l = buildOutboundListener(bind, eg.port.number, rcName);
    addListener(l, () => sidecarIssues?.error(path, `listener ${l.name} is defined twice on the same address and port`));
    routeConfigs[rcName] = buildPortRouteConfig(rcName, eg.port.number, inputFor(new EgressImport(eg.hosts)));
    egressPorts.add(rcName);
  }

  // Per-port route configurations for every HTTP port, as istiod generates them for 0.0.0.0_<port>.
  const defaultInput = inputFor(defaultImport);
  const ports = new Set<number>();
  for (const s of defaultInput.services) for (const p of httpPorts(s)) ports.add(p);
  for (const p of [...ports].sort((a, b) => a - b)) {
    const name = String(p);
    if (egressPorts.has(name)) continue;
    routeConfigs[name] = buildPortRouteConfig(name, p, defaultInput);
  }

  let defaultOutbound = opts.defaultOutbound;
  if (ic) {
    const sc = sidecar?.outboundTrafficPolicy !== undefined ? { mode: sidecar.outboundTrafficPolicy, source: `Sidecar ${sidecar.ref.namespace}/${sidecar.ref.name}` } : undefined;
    const policy = resolveOutboundTrafficPolicy(sc, meshChoice.mesh.outboundTrafficPolicy);
    // The default outbound listener would share a capture port with a virtual listener: dropped.
    if (defaultOutbound && (defaultOutbound.port === ic.outboundPort || defaultOutbound.port === ic.inboundPort)) {
      summary.push(`default outbound listener ${defaultOutbound.address}:${defaultOutbound.port} is off: --intercept listens on 0.0.0.0:${defaultOutbound.port}`);
      defaultOutbound = null;
    }
    // istiod: the Sidecar's ingress when it declares some, else the services that select this workload.
    const interceptIngress = sidecar !== undefined && sidecar.ingress.length > 0 ? sidecar.ingress : inboundPortsFromServiceEntries(ses.map((x) => x.value), ns, opts.proxyLabels);
    ic = { ...ic, protocolDetectionTimeoutMs: meshChoice.mesh.protocolDetectionTimeoutMs ?? ic.protocolDetectionTimeoutMs ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS };
    addIntercepted(ic, policy, {
      listeners,
      routeConfigs,
      clusters,
      defaultInput,
      tcpCtx,
      ingress: interceptIngress,
      warnIngress: (index, message) => sidecarIssues?.warn(["spec", "ingress", index, "port"], message),
      addListener: (l) => addListener(l, undefined),
    });
    inboundUpstreamProtocols(interceptIngress, clusters, upstreamProtocols);
    summary.push(`interception ${ic.mode}${ic.dualStack === true ? " dual-stack" : ""}: virtualOutbound 0.0.0.0:${ic.outboundPort}${ic.dualStack === true ? ` + [::]:${ic.outboundPort}` : ""}, virtualInbound 0.0.0.0:${ic.inboundPort}${ic.dualStack === true ? ` + [::]:${ic.inboundPort}` : ""}, proxy uid ${ic.proxyUid}; outboundTrafficPolicy ${policy.mode} (${policy.source})`);
  }

  if (defaultOutbound) {
    const { address, port } = defaultOutbound;
    routeConfigs[HTTP_PROXY_ROUTE_CONFIG] = buildHttpProxyRouteConfig(HTTP_PROXY_ROUTE_CONFIG, defaultInput);
    addListener(buildOutboundListener(address, port, HTTP_PROXY_ROUTE_CONFIG), undefined);
  }

  applySecurity(security, {
    namespace: ns,
    rootNamespace: rootNs,
    proxyLabels: opts.proxyLabels,
    domainSuffix: opts.domainSuffix,
    security: securityOpts,
    listeners,
    routeConfigs,
    clusters,
    summary,
    optionError: (message) => errors.push({ file: "<options>", line: 0, path: "", message, severity: "error" }),
    ...(opts.jwks !== undefined ? { jwks: opts.jwks } : {}),
  });

  const telemetryWarnings = new Set<string>();
  const resolved = resolveTelemetry({
    mesh: meshChoice.mesh,
    telemetry: applicable,
    node,
    otel: opts.otel ?? emptyOtelEnv(),
    env: opts.env ?? {},
    warn: (message) => telemetryWarnings.add(message),
  });
  for (const message of telemetryWarnings) warnings.push({ file: meshChoice.doc?.file ?? "<mesh config>", line: 0, path: "", message, severity: "warning" });
  applyTelemetry(listeners, resolved, opts.telemetryFilters ?? DEFAULT_TELEMETRY_FILTERS);
  if (meshChoice.mesh.downstreamHttp2 !== undefined) applyDownstreamHttp2(listeners, meshChoice.mesh.downstreamHttp2);

  if (!ic) inboundUpstreamProtocols(sidecar?.ingress ?? [], clusters, upstreamProtocols);
  // The clusters that do not speak HTTP/1.1 upstream, so `validate` shows where HTTP/2 (gRPC) goes.
  for (const name of Object.keys(upstreamProtocols).sort()) {
    const why = upstreamProtocols[name]!;
    if (clusters[name] !== undefined && !why.startsWith("HTTP/1.1") && !why.startsWith("not HTTP")) summary.push(`cluster ${name} upstream protocol: ${why}`);
  }
  return { snapshot: { listeners, routeConfigs, clusters }, errors, warnings, summary, upstreamProtocols };
}

interface InterceptTargets {
  listeners: Listener[];
  routeConfigs: Record<string, RouteConfiguration>;
  clusters: Record<string, Cluster>;
  defaultInput: RouteConfigInput;
  tcpCtx: TcpRouteContext;
  ingress: readonly ParsedSidecarIngress[];
  warnIngress: (index: number, message: string) => void;
  addListener: (l: Listener) => void;
}

/** Route configuration of virtualInbound's catch-all HTTP chain (istiod inlines it under this name). */
const INBOUND_PASSTHROUGH_ROUTE_CONFIG = INBOUND_PASSTHROUGH_CLUSTER;

/** What --intercept adds: per-port outbound listeners, the two virtual listeners, passthrough clusters, catch-all virtual hosts. */
function addIntercepted(ic: Interception, policy: OutboundTrafficPolicy, t: InterceptTargets): void {
  const fallthrough = fallthroughCluster(policy.mode);
  const outbound = buildInterceptOutbound({
    services: t.defaultInput.services,
    virtualServices: t.defaultInput.virtualServices,
    tcpCtx: t.tcpCtx,
    fallthroughCluster: fallthrough,
    protocolDetectionTimeoutMs: ic.protocolDetectionTimeoutMs ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS,
    wildcardExtra: wildcardAdditionalAddresses(ic),
  });
  for (const s of outbound.serviceRoutes) t.routeConfigs[s.name] = buildPortRouteConfig(s.name, s.port, { ...t.defaultInput, services: [s.service] });
  // istiod ends every outbound route configuration with allow_any (or block_all under REGISTRY_ONLY).
  for (const rc of Object.values(t.routeConfigs)) {
    if (!rc.name.startsWith("inbound|")) rc.virtualHosts.push(catchAllVirtualHost(policy.mode));
  }
  for (const l of outbound.listeners) t.addListener(l);

  const inbound = buildInterceptInbound(t.ingress, ic.dualStack === true);
  // Ports from ServiceEntries (index -1) were already warned about where they are declared.
  for (const s of inbound.skipped) if (s.ingress.index >= 0) t.warnIngress(s.ingress.index, `ingress port ${s.ingress.port.number} is skipped: ${s.reason}`);
  for (const c of inbound.clusters) t.clusters[c.name] = c;
  for (const rc of inbound.routeConfigs) t.routeConfigs[rc.name] = rc;
  t.routeConfigs[INBOUND_PASSTHROUGH_ROUTE_CONFIG] = inboundRouteConfig(INBOUND_PASSTHROUGH_ROUTE_CONFIG, "inbound|http|0", INBOUND_PASSTHROUGH_CLUSTER);
  t.addListener(virtualOutboundListener(ic, fallthrough));
  t.addListener(virtualInboundListener(ic, inbound, INBOUND_PASSTHROUGH_ROUTE_CONFIG));
  for (const c of [passthroughCluster(), blackHoleCluster(), inboundPassthroughCluster(ic.dualStack === true)]) t.clusters[c.name] = c;
}

/** The inbound clusters' protocol and why (the app's port; inbound clusters are never upgraded). */
function inboundUpstreamProtocols(ingress: readonly ParsedSidecarIngress[], clusters: Record<string, Cluster>, out: Record<string, string>): void {
  for (const ing of ingress) {
    const name = inboundClusterName(ing.port.number);
    if (clusters[name] === undefined || out[name] !== undefined) continue;
    out[name] = decideUpstreamProtocol(undefined, { protocol: portProtocol(ing.port.protocol, ing.port.name), direction: "inbound" }).reason;
  }
}

function appliesToMesh(vs: ParsedVirtualService): boolean {
  return vs.gateways.length === 0 || vs.gateways.includes("mesh");
}

/** Warn about route destinations with no service or no subset: Envoy would answer 503 / close TCP (NC/UH). */
function checkDestinations(vss: Array<Parsed<ParsedVirtualService>>, services: ReadonlyMap<string, MeshService>, drs: DestinationRuleIndex): void {
  for (const { value: vs, issues } of vss) {
    const rules = [...vs.http.map((r) => ({ kind: "http", rule: r })), ...vs.tcp.map((r) => ({ kind: "tcp", rule: r }))];
    for (const { kind, rule } of rules) {
      rule.route.forEach((d, i) => {
        const path = ["spec", kind, rule.index, "route", i, "destination"];
        const svc = services.get(d.destination.host);
        if (!svc) {
          issues.warn([...path, "host"], `destination host ${d.destination.host} is not in the service registry (no visible ServiceEntry); requests will fail with 503`);
          return;
        }
        if (d.destination.port === undefined && svc.ports.length > 1) {
          issues.warn([...path, "port"], `destination ${d.destination.host} has ${svc.ports.length} ports: set destination.port (the listener port is used otherwise)`);
        }
        if (d.destination.port !== undefined && !svc.ports.some((p) => p.number === d.destination.port)) {
          issues.warn([...path, "port"], `destination ${d.destination.host} has no port ${d.destination.port}`);
        }
        if (d.destination.subset !== undefined) {
          const dr = drs.lookup(svc.hostname, svc.namespace);
          if (!dr || !dr.subsets.some((s) => s.name === d.destination.subset)) {
            issues.warn([...path, "subset"], `subset ${d.destination.subset} is not defined by any DestinationRule for ${svc.hostname}; requests will fail with 503`);
          }
        }
      });
    }
  }
}

interface AllParsed {
  vss: Array<Parsed<ParsedVirtualService>>;
  drs: Array<Parsed<ParsedDestinationRule>>;
  ses: Array<Parsed<ParsedServiceEntry>>;
  wes: Array<Parsed<ParsedWorkloadEntry>>;
  sidecars: Array<Parsed<ParsedSidecar>>;
}

function summarise(out: string[], all: AllParsed, ns: string, sidecar: ParsedSidecar | undefined, registry: MeshService[]): void {
  const notVisible = (exportTo: string[], owner: string): string => (isExportedTo(exportTo, owner, ns) ? "" : ` (not exported to namespace ${ns})`);
  for (const { value: se, line } of all.ses) {
    const ports = se.ports.map((p) => `${p.number}/${p.protocol ?? "auto"}`).join(", ") || "none";
    const eps = se.workloadSelector ? `${registry.find((s) => s.source === se)?.endpoints.length ?? 0} workload entries` : `${se.endpoints.length} endpoints`;
    out.push(`${line}: hosts ${se.hosts.join(", ")}, ports ${ports}, ${se.resolution}, ${eps}${notVisible(se.exportTo, se.ref.namespace)}`);
  }
  for (const { value: we, line } of all.wes) out.push(`${line}: address ${we.endpoint.address}`);
  for (const { value: dr, line } of all.drs) {
    const subsets = dr.subsets.length ? `${dr.subsets.length} subsets (${dr.subsets.map((s) => s.name).join(", ")})` : "no subsets";
    out.push(`${line}: host ${dr.host}, ${subsets}${dr.trafficPolicy ? ", traffic policy" : ""}${notVisible(dr.exportTo, dr.ref.namespace)}`);
  }
  for (const { value: vs, line } of all.vss) {
    const mesh = vs.gateways.length === 0 || vs.gateways.includes("mesh");
    const gw = mesh ? "" : ` (gateways ${vs.gateways.join(", ")} only: does not apply to sidecars)`;
    const tcp = vs.tcp.length > 0 ? `, ${vs.tcp.length} tcp rules` : "";
    out.push(`${line}: hosts ${vs.hosts.join(", ")}, ${vs.http.length} http rules${tcp}${gw}${notVisible(vs.exportTo, vs.ref.namespace)}`);
  }
  for (const { value: sc, line } of all.sidecars) {
    const applies = sc === sidecar ? "applies to this proxy" : "does not apply to this proxy";
    out.push(`${line}: ${sc.ingress.length} ingress, ${sc.egress.length} egress (${applies})`);
  }
}
