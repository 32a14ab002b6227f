// `outrigger run` flags + environment → a validated Bootstrap. The flag tables here are the single
// source of the run/validate/config-dump help texts (see src/cli/*-command.ts).

import {
  defaultAdminAddress,
  defaultAdminPort,
  defaultHealthPort,
  defaultDomainSuffix,
  defaultDrainTimeoutMs,
  defaultLimits,
  defaultMinimumDrainMs,
  defaultOutbound,
  defaultStatsPort,
  defaultWorkers,
  statsAddress,
} from "./bootstrap.js";
import type { Bootstrap } from "./bootstrap.js";
import type { Locality } from "../config/model/types.js";
import { nodeIdentity } from "../observability/node-identity.js";
import { OtelEnvError, otelEnvFrom, type OtelEnv } from "./otel-env.js";
import { formatDuration, parseDuration } from "./duration.js";
import { reusePortBalances } from "./reuse-port.js";
import { flagValue, parseFlags, usageError } from "./flag-parser.js";
import type { CommandSpec, FlagSpec, ParsedFlags } from "./flag-parser.js";
import { DEFAULT_INBOUND_CAPTURE_PORT, DEFAULT_OUTBOUND_CAPTURE_PORT, DEFAULT_PROXY_UID, INTERCEPTION_MODES, type Interception, type InterceptionMode } from "../config/istio/interception.js";
import { defaultTrustDomain, identityFlags, identityFromFlags, type IdentitySettings } from "./identity-flags.js";
import type { SecurityOptions } from "../config/istio/security.js";
import { addressFlag, durationFlag, formatAddress, intFlag, labelsFlag, logLevelFlag, portFlag } from "./flag-values.js";

export interface RunFlagContext {
  env: Readonly<Record<string, string | undefined>>;
  /** CPUs available to this process (see cpu-count.ts); caps the worker count. */
  cpuCount: () => number;
  /** Whether the OS balances SO_REUSEPORT listeners (see reuse-port.ts); default: this OS. */
  reusePortBalances?: () => boolean;
}

/** 256: far above any useful worker count; catches typos like --workers 10000. */
const maxWorkers = 256;

export const configFlag: FlagSpec = { name: "config", value: "<file|dir>", repeatable: true, required: true, help: "Istio YAML file or folder (folders are read recursively, *.yaml/*.yml)" };
export const namespaceFlag: FlagSpec = { name: "namespace", value: "<ns>", default: "$POD_NAMESPACE, else default", help: "the proxy's own namespace" };
export const labelsFlagSpec: FlagSpec = { name: "labels", value: "<k=v,k2=v2>", default: "none", help: "the proxy's own workload labels (sourceLabels, Sidecar workloadSelector)" };
export const outboundFlag: FlagSpec = { name: "outbound", value: "<host:port|off>", default: formatAddress(defaultOutbound), help: "the default outbound listener (every service on every HTTP port); off = none" };

export const localityFlag: FlagSpec = { name: "locality", value: "<region/zone/subzone>", default: "$ISTIO_LOCALITY, else none", help: "the proxy's own locality, for locality failover and distribute" };
export const mirrorShadowSuffixFlag: FlagSpec = {
  name: "mirror-shadow-suffix",
  default: "off (Istio >= 1.28)",
  help: "append -shadow to the Host of mirrored requests, as Istio <= 1.27 did",
};

export const meshConfigFlag: FlagSpec = {
  name: "mesh-config",
  value: "<file>",
  default: "an istio ConfigMap among --config, else a standard install's",
  help: "Istio MeshConfig YAML: the `mesh` text of the istio ConfigMap, or the ConfigMap itself (access logs, tracing, extension providers); reloaded like --config",
};
export const rootNamespaceFlag: FlagSpec = {
  name: "root-namespace",
  value: "<ns>",
  default: "the MeshConfig's rootNamespace, else istio-system",
  help: "Istio's root namespace (mesh-wide Telemetry, Sidecar and DestinationRule defaults); the MeshConfig's rootNamespace wins, as istiod reads only that",
};

export const interceptFlag: FlagSpec = {
  name: "intercept",
  default: "off",
  help: "run as a transparent sidecar behind istio-iptables / outrigger-iptables: virtualOutbound on 0.0.0.0:--outbound-port, virtualInbound on 0.0.0.0:--inbound-port, listeners for every known service port (a default --outbound listener on a capture port is dropped); dual-stack (also on ::) when $ISTIO_DUAL_STACK is true",
};
export const outboundPortFlag: FlagSpec = { name: "outbound-port", value: "<port>", default: String(DEFAULT_OUTBOUND_CAPTURE_PORT), help: "with --intercept: where iptables redirects outbound TCP (istio-iptables -p)" };
export const inboundPortFlag: FlagSpec = { name: "inbound-port", value: "<port>", default: String(DEFAULT_INBOUND_CAPTURE_PORT), help: "with --intercept: where iptables redirects inbound TCP (istio-iptables -z)" };
export const interceptionModeFlag: FlagSpec = {
  name: "interception-mode",
  value: "<REDIRECT|TPROXY>",
  default: "$ISTIO_META_INTERCEPTION_MODE, else REDIRECT",
  help: "with --intercept: how inbound traffic is captured (istio-iptables -m); TPROXY makes the virtual listeners transparent",
};
export const proxyUidFlag: FlagSpec = { name: "proxy-uid", value: "<uid>", default: String(DEFAULT_PROXY_UID), help: "with --intercept: the uid iptables exempts (istio-iptables -u); informational, shown in /config_dump" };

/** Flags that shape translation, shared by run, validate and config-dump. */
export const translationFlags: FlagSpec[] = [
  configFlag,
  meshConfigFlag,
  namespaceFlag,
  rootNamespaceFlag,
  labelsFlagSpec,
  outboundFlag,
  localityFlag,
  mirrorShadowSuffixFlag,
  interceptFlag,
  outboundPortFlag,
  inboundPortFlag,
  interceptionModeFlag,
  proxyUidFlag,
  ...identityFlags,
];

export const workersFlag: FlagSpec = {
  name: "workers",
  value: "<n>",
  default: `${defaultWorkers} (Istio's sidecar concurrency), at most the CPUs this process may use, cgroup quota included`,
  help: `worker threads serving traffic, 0..${maxWorkers}; 0 = one per usable CPU`,
};

/**
 * --workers: absent = Istio's sidecar default (2) capped by the usable CPUs, 0 = every usable
 * CPU, else the number given. Never more than the 256 cap, never less than 1.
 */
export function workersFromFlag(text: string | undefined, cpuCount: () => number): number {
  const cpus = (): number => Math.max(1, Math.min(maxWorkers, cpuCount()));
  if (text === undefined) return Math.min(defaultWorkers, cpus());
  const n = intFlag("workers", text, 0, maxWorkers);
  return n === 0 ? cpus() : n;
}
export const adminPortFlag: FlagSpec = { name: "admin-port", value: "<port>", default: String(defaultAdminPort), help: "admin API port; 0 picks a free port" };
export const adminAddressFlag: FlagSpec = { name: "admin-address", value: "<ip>", default: defaultAdminAddress, help: "admin API address" };
export const healthPortFlag: FlagSpec = { name: "health-port", value: "<port>", default: String(defaultHealthPort), help: "health port on 0.0.0.0: GET /healthz/ready answers 200 once ready (Kubernetes probes); 0 picks a free port" };
export const statsPortFlag: FlagSpec = {
  name: "stats-port",
  value: "<port>",
  default: String(defaultStatsPort),
  help: `Prometheus endpoint (/stats/prometheus, all workers merged) on ${statsAddress}; 0 picks a free port`,
};
export const logLevelFlagSpec: FlagSpec = { name: "log-level", value: "<level>", default: "info", help: "debug, info, warn, error or off" };

export const runFlags: FlagSpec[] = [
  ...translationFlags,
  workersFlag,
  adminPortFlag,
  adminAddressFlag,
  healthPortFlag,
  statsPortFlag,
  {
    name: "drain-timeout",
    value: "<duration>",
    default: `$TERMINATION_DRAIN_DURATION_SECONDS, else ${formatDuration(defaultDrainTimeoutMs)}`,
    help: "on SIGTERM/SIGINT, inbound listeners drain (connection: close) and outbound keeps serving this long, then the proxy exits (Istio's terminationDrainDuration)",
  },
  {
    name: "exit-on-zero-active-connections",
    default: "$EXIT_ON_ZERO_ACTIVE_CONNECTIONS, else off",
    help: "on SIGTERM/SIGINT, exit once no downstream connection is open (checked every second after --minimum-drain-duration) instead of after --drain-timeout",
  },
  {
    name: "minimum-drain-duration",
    value: "<duration>",
    default: `$MINIMUM_DRAIN_DURATION, else ${formatDuration(defaultMinimumDrainMs)}`,
    help: "with --exit-on-zero-active-connections, the drain before connections are counted",
  },
  { name: "max-request-headers-kb", value: "<kb>", default: String(defaultLimits.maxRequestHeadersKb), help: "largest request head accepted, in KiB (1..8192)" },
  { name: "max-headers-count", value: "<n>", default: String(defaultLimits.maxHeadersCount), help: "most request headers accepted" },
  { name: "request-headers-timeout", value: "<duration>", default: formatDuration(defaultLimits.requestHeadersTimeoutMs), help: "time to receive a complete request head; 0 = off" },
  { name: "idle-timeout", value: "<duration>", default: formatDuration(defaultLimits.idleTimeoutMs), help: "close idle downstream keep-alive connections after this; 0 = off" },
  logLevelFlagSpec,
  { name: "no-watch", help: "do not reload when config files change (SIGHUP still reloads)" },
];

/** `run --bootstrap`: an Envoy bootstrap instead of --config (src/cli/run-bootstrap-command.ts has its own flag table). */
export const bootstrapFlag: FlagSpec = {
  name: "bootstrap",
  value: "<file>",
  help: "run from an Envoy v3 bootstrap (JSON/YAML: static resources, ADS, admin address) instead of --config; then only --workers, --log-level, --drain-timeout and --admin-port apply",
};

export const runCommandSpec: CommandSpec = {
  name: "run",
  usage: "outrigger run --config <file|dir> [--config <file|dir> ...] [flags]  |  outrigger run --bootstrap <file> [flags]",
  description: [
    "Run the proxy: translate the Istio YAML, start the workers and the admin API.",
    "SIGHUP reloads the config (a bad config is refused and the old one keeps serving);",
    "SIGTERM/SIGINT drain as Istio's sidecar does (inbound listeners answer with connection: close,",
    "outbound keeps serving) for --drain-timeout, then exit; a second SIGINT exits at once.",
  ].join("\n"),
  flags: [bootstrapFlag, ...runFlags],
};

/** Bootstrap from `outrigger run` arguments; undefined when help was asked for. */
export function parseRunFlags(argv: readonly string[], ctx: RunFlagContext): Bootstrap | undefined {
  const parsed = parseFlags(runCommandSpec, argv);
  if (parsed.help) return undefined;
  return bootstrapFromFlags(parsed, ctx);
}

export function bootstrapFromFlags(parsed: ParsedFlags, ctx: RunFlagContext): Bootstrap {
  const v = (name: string): string | undefined => flagValue(parsed, name);
  const num = (name: string, min: number, max: number, dflt: number): number => {
    const t = v(name);
    return t === undefined ? dflt : intFlag(name, t, min, max);
  };
  const dur = (name: string, dflt: number): number => {
    const t = v(name);
    return t === undefined ? dflt : durationFlag(name, t);
  };
  const adminPort = v("admin-port");
  const healthPort = v("health-port");
  const statsPort = v("stats-port");
  const logLevel = v("log-level");
  const workers = workersFromFlag(v("workers"), ctx.cpuCount);
  const reusePort = (ctx.reusePortBalances ?? (() => reusePortBalances()))();
  const bootstrap: Omit<Bootstrap, keyof TranslationSettings | "node"> = {
    // Without SO_REUSEPORT balancing only one socket may listen on a port: one worker serves.
    workers: reusePort ? workers : 1,
    reusePort,
    adminAddress: v("admin-address") ?? defaultAdminAddress,
    adminPort: adminPort === undefined ? defaultAdminPort : portFlag("admin-port", adminPort),
    healthPort: healthPort === undefined ? defaultHealthPort : portFlag("health-port", healthPort),
    statsPort: statsPort === undefined ? defaultStatsPort : portFlag("stats-port", statsPort),
    drainTimeoutMs: dur("drain-timeout", envSeconds(ctx.env, "TERMINATION_DRAIN_DURATION_SECONDS") ?? defaultDrainTimeoutMs),
    exitOnZeroActiveConnections: parsed.switches.has("exit-on-zero-active-connections") || envBool(ctx.env, "EXIT_ON_ZERO_ACTIVE_CONNECTIONS"),
    minimumDrainMs: dur("minimum-drain-duration", envDuration(ctx.env, "MINIMUM_DRAIN_DURATION") ?? defaultMinimumDrainMs),
    limits: {
      // 8192 KiB: Envoy's upper bound for max_request_headers_kb.
      maxRequestHeadersKb: num("max-request-headers-kb", 1, 8192, defaultLimits.maxRequestHeadersKb),
      maxHeadersCount: num("max-headers-count", 1, 10_000, defaultLimits.maxHeadersCount),
      requestHeadersTimeoutMs: dur("request-headers-timeout", defaultLimits.requestHeadersTimeoutMs),
      idleTimeoutMs: dur("idle-timeout", defaultLimits.idleTimeoutMs),
    },
    logLevel: logLevel === undefined ? "info" : logLevelFlag("log-level", logLevel),
    watch: !parsed.switches.has("no-watch"),
  };
  // Translation flags last, so a bad --workers is reported even when --config is also missing.
  const translation = translationFromFlags(parsed, ctx.env);
  const node = nodeIdentity({ env: ctx.env, namespace: translation.namespace, labels: translation.proxyLabels, domainSuffix: translation.domainSuffix });
  return { ...translation, ...bootstrap, node };
}

type Env = Readonly<Record<string, string | undefined>>;

/** istio-agent's TERMINATION_DRAIN_DURATION_SECONDS: whole seconds (Go strconv.Atoi). */
function envSeconds(env: Env, name: string): number | undefined {
  const t = env[name];
  if (t === undefined || t === "") return undefined;
  if (!/^\d+$/.test(t.trim())) throw usageError(`$${name}: expected whole seconds, got "${t}"`);
  return Number(t.trim()) * 1_000;
}

/** A Go duration as istio-agent reads MINIMUM_DRAIN_DURATION (`5s`, `500ms`, `1m30s`). */
function envDuration(env: Env, name: string): number | undefined {
  const t = env[name];
  if (t === undefined || t === "") return undefined;
  const ms = parseDuration(t.trim());
  if (ms === undefined) throw usageError(`$${name}: expected a duration such as 500ms, 5s or 1m, got "${t}"`);
  return ms;
}

/** A boolean as Go's strconv.ParseBool reads it (istio-agent's proxy metadata flags). */
function envBool(env: Env, name: string): boolean {
  const t = env[name];
  if (t === undefined || t === "") return false;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(t)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(t)) return false;
  throw usageError(`$${name}: expected true or false, got "${t}"`);
}

export interface TranslationSettings {
  configPaths: string[];
  namespace: string;
  proxyLabels: Record<string, string>;
  domainSuffix: string;
  outbound: { address: string; port: number } | null;
  proxyLocality: Locality;
  mirrorShadowSuffix: boolean;
  /** --mesh-config. */
  meshConfigPath?: string;
  /** --root-namespace, when given. */
  rootNamespace?: string;
  /** The OTEL_* environment (tracing exporter settings). */
  otel: OtelEnv;
  /** --intercept and its ports, mode and uid; absent = off. */
  intercept?: Interception;
  /** --certs / --ca-address, --trust-domain, --service-account. */
  identity: IdentitySettings;
}

/** `region/zone/subzone` (trailing parts optional) → Locality; at most three parts, no empty region. */
export function parseLocalityText(source: string, text: string): Locality {
  const t = text.trim();
  if (t === "") return {};
  const parts = t.split("/");
  if (parts.length > 3 || parts[0] === "") throw usageError(`${source}: expected region/zone/subzone, got "${text}"`);
  const [region, zone, subZone] = parts;
  const l: Locality = {};
  if (region) l.region = region;
  if (zone) l.zone = zone;
  if (subZone) l.subZone = subZone;
  return l;
}

/** TranslateOptions fields from translation settings (what every command passes to translate; the mesh config file is loaded by the caller). */
export function translateOptionsFrom(s: TranslationSettings): {
  namespace: string;
  proxyLabels: Record<string, string>;
  domainSuffix: string;
  defaultOutbound: { address: string; port: number } | null;
  proxyLocality: Locality;
  mirrorShadowSuffix: boolean;
  otel: OtelEnv;
  rootNamespace?: string;
  intercept?: Interception;
  security?: SecurityOptions;
} {
  const o = {
    namespace: s.namespace,
    proxyLabels: s.proxyLabels,
    domainSuffix: s.domainSuffix,
    defaultOutbound: s.outbound,
    proxyLocality: s.proxyLocality,
    mirrorShadowSuffix: s.mirrorShadowSuffix,
    otel: s.otel,
  };
  // Without identity flags translation's own default (cluster.local, no identity) applies.
  const identityGiven = s.identity.source !== undefined || s.identity.trustDomain !== defaultTrustDomain || s.identity.credentialsDir !== undefined;
  return {
    ...o,
    ...(s.rootNamespace !== undefined ? { rootNamespace: s.rootNamespace } : {}),
    ...(s.intercept !== undefined ? { intercept: s.intercept } : {}),
    ...(identityGiven ? { security: securityOptionsFrom(s.identity) } : {}),
  };
}

/** What translation knows of the identity: the trust domain, and whether a certificate will exist. */
export function securityOptionsFrom(id: IdentitySettings): SecurityOptions {
  return { trustDomain: id.trustDomain, hasIdentity: id.source !== undefined, ...(id.credentialsDir !== undefined ? { credentialsDir: id.credentialsDir } : {}) };
}

/** OTEL_* → OtelEnv; a bad value is a usage error naming the variable. */
export function otelFromEnv(env: Readonly<Record<string, string | undefined>>): OtelEnv {
  try {
    return otelEnvFrom(env);
  } catch (e) {
    if (e instanceof OtelEnvError) throw usageError(e.message);
    throw e;
  }
}

/** The translation-shaping part of a bootstrap (--config, --namespace, --labels, --outbound). */
export function translationFromFlags(parsed: ParsedFlags, env: Readonly<Record<string, string | undefined>>): TranslationSettings {
  const configPaths = parsed.values.get("config") ?? [];
  const ns = flagValue(parsed, "namespace");
  const envNs = env["POD_NAMESPACE"];
  const labels = flagValue(parsed, "labels");
  const outbound = flagValue(parsed, "outbound");
  const locality = flagValue(parsed, "locality");
  const meshConfig = flagValue(parsed, "mesh-config");
  const rootNamespace = flagValue(parsed, "root-namespace");
  if (rootNamespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(rootNamespace)) throw usageError(`--root-namespace: "${rootNamespace}" is not a valid namespace name`);
  const settings: TranslationSettings = {
    configPaths,
    namespace: ns ?? (envNs !== undefined && envNs !== "" ? envNs : "default"),
    proxyLabels: labels === undefined ? {} : labelsFlag("labels", labels),
    domainSuffix: defaultDomainSuffix,
    outbound: outbound === undefined ? { ...defaultOutbound } : addressFlag("outbound", outbound),
    proxyLocality: locality !== undefined ? parseLocalityText("--locality", locality) : parseLocalityText("$ISTIO_LOCALITY", env["ISTIO_LOCALITY"] ?? ""),
    mirrorShadowSuffix: parsed.switches.has("mirror-shadow-suffix"),
    otel: otelFromEnv(env),
    identity: identityFromFlags(parsed, env),
  };
  if (meshConfig !== undefined) settings.meshConfigPath = meshConfig;
  if (rootNamespace !== undefined) settings.rootNamespace = rootNamespace;
  const intercept = interceptionFromFlags(parsed, env);
  if (intercept !== undefined) settings.intercept = intercept;
  if (configPaths.length === 0) throw usageError("--config is required (an Istio YAML file or folder)");
  return settings;
}

/** --intercept and its companions → Interception; the companions without --intercept are a usage error. */
export function interceptionFromFlags(parsed: ParsedFlags, env: Readonly<Record<string, string | undefined>>): Interception | undefined {
  const companions = ["outbound-port", "inbound-port", "interception-mode", "proxy-uid"].filter((n) => flagValue(parsed, n) !== undefined);
  if (!parsed.switches.has("intercept")) {
    if (companions.length > 0) throw usageError(`--${companions[0]} needs --intercept`);
    return undefined;
  }
  const port = (name: string, dflt: number): number => {
    const t = flagValue(parsed, name);
    return t === undefined ? dflt : intFlag(name, t, 1, 65535);
  };
  const outboundPort = port("outbound-port", DEFAULT_OUTBOUND_CAPTURE_PORT);
  const inboundPort = port("inbound-port", DEFAULT_INBOUND_CAPTURE_PORT);
  if (outboundPort === inboundPort) throw usageError(`--outbound-port and --inbound-port must differ, both are ${outboundPort}`);
  const uid = flagValue(parsed, "proxy-uid");
  const ic: Interception = { outboundPort, inboundPort, mode: interceptionMode(flagValue(parsed, "interception-mode"), env), proxyUid: uid === undefined ? DEFAULT_PROXY_UID : intFlag("proxy-uid", uid, 0, 4294967294) };
  // $ISTIO_DUAL_STACK: what the injector sets for istio-agent, istiod and istio-iptables alike.
  if (envBool(env, "ISTIO_DUAL_STACK")) ic.dualStack = true;
  return ic;
}

/** --interception-mode, else istio-agent's $ISTIO_META_INTERCEPTION_MODE (what the injector sets), else REDIRECT. */
function interceptionMode(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): InterceptionMode {
  const envMode = env["ISTIO_META_INTERCEPTION_MODE"];
  const [source, text] = flag !== undefined ? ["--interception-mode", flag] : envMode !== undefined && envMode !== "" ? ["$ISTIO_META_INTERCEPTION_MODE", envMode] : ["", "REDIRECT"];
  if ((INTERCEPTION_MODES as readonly string[]).includes(text)) return text as InterceptionMode;
  if (text === "NONE") throw usageError(`${source}: NONE means no capture: leave --intercept off`);
  throw usageError(`${source}: expected REDIRECT or TPROXY, got "${text}"`);
}
