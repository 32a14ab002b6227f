// Envoy's command line as pilot-agent passes it (`-c envoy-rev.json --drain-time-s 45
// --drain-strategy immediate …`): the flag table, the parser and the typed options. Names,
// defaults and accepted values are Envoy's (source/server/options_impl.cc); flags that make no
// sense for Outrigger (hot restart, core dumps, base ids) are accepted and ignored, so
// pilot-agent's argv always parses. An unknown flag is an error naming it, as Envoy's TCLAP does.

import { parseFlags, usageError, type CommandSpec, type FlagSpec } from "../bootstrap/flag-parser.js";
import type { LogLevel } from "../common/logger.js";

/** Envoy's log levels (spdlog), plus `warn`, which Envoy also accepts. */
export const ENVOY_LOG_LEVELS = ["trace", "debug", "info", "warning", "warn", "error", "critical", "off"] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

export interface EnvoyOptions {
  /** -c / --config-path, as given (resolved against the working directory when read). */
  configPath?: string;
  /** --config-yaml: merged over the -c file. */
  configYaml?: string;
  mode: "serve" | "validate" | "init_only";
  /** --drain-time-s: 600 s, Envoy's default. */
  drainTimeS: number;
  drainStrategy: "gradual" | "immediate";
  localAddressIpVersion: "v4" | "v6";
  /** --file-flush-interval-msec: 10 000 ms, Envoy's default access-log flush period. */
  fileFlushIntervalMs: number;
  /** --file-flush-min-size-kb: 64 KiB, Envoy's default. */
  fileFlushMinSizeKb: number;
  allowUnknownStaticFields: boolean;
  rejectUnknownDynamicFields: boolean;
  ignoreUnknownDynamicFields: boolean;
  disableHotRestart: boolean;
  logLevel: EnvoyLogLevel;
  /** --component-log-level `upstream:debug,misc:error`, in the order given. */
  componentLogLevels: Array<{ component: string; level: EnvoyLogLevel }>;
  logFormat?: string;
  logPath?: string;
  /** --concurrency: absent = the CPUs available (Envoy: hardware threads). */
  concurrency?: number;
  skipDeprecatedLogs: boolean;
  enableCoreDump: boolean;
  baseId: number;
  /** --restart-epoch: 0 only (a hot restart's later epochs need a parent process to take over from). */
  restartEpoch: number;
  serviceCluster?: string;
  serviceNode?: string;
  serviceZone?: string;
  version: boolean;
  help: boolean;
}

const levels = ENVOY_LOG_LEVELS.join("|");

/** The flag table; `renderHelp(envoyCommandSpec)` is `outrigger-envoy --help`. */
export const envoyCommandSpec: CommandSpec = {
  name: "outrigger-envoy",
  usage: "outrigger-envoy -c <bootstrap.json|yaml> [Envoy flags]",
  description:
    "Outrigger with Envoy's command line: reads an Envoy v3 bootstrap (static resources, dynamic_resources\n" +
    "ADS, admin address, node) and runs as Envoy would. A drop-in for the envoy binary under Istio's pilot-agent.",
  flags: [
    { name: "config-path", value: "<file>", help: "-c: the bootstrap file, JSON or YAML (by extension, else by content)" },
    { name: "config-yaml", value: "<yaml>", help: "bootstrap YAML/JSON merged over -c (messages merge, repeated fields append, scalars replace)" },
    { name: "mode", value: "<serve|validate|init_only>", default: "serve", help: "validate: check the bootstrap, print OK and exit 0, or exit 1; init_only: check it and exit 0 silently" },
    { name: "drain-time-s", value: "<s>", default: "600", help: "how long listeners drain (drain_listeners?graceful, shutdown)" },
    { name: "drain-strategy", value: "<gradual|immediate>", default: "gradual", help: "immediate: discourage every connection at once (Outrigger drains that way for gradual too)" },
    { name: "local-address-ip-version", value: "<v4|v6>", default: "v4", help: "the IP family of the local address" },
    { name: "file-flush-interval-msec", value: "<ms>", default: "10000", help: "access-log flush period" },
    { name: "file-flush-min-size-kb", value: "<kb>", default: "64", help: "access-log buffer size written at once" },
    { name: "allow-unknown-static-fields", help: "unknown fields in the bootstrap are dropped instead of refused" },
    { name: "reject-unknown-dynamic-fields", help: "accepted" },
    { name: "ignore-unknown-dynamic-fields", help: "accepted" },
    { name: "disable-hot-restart", help: "accepted (Outrigger never hot-restarts)" },
    { name: "log-level", value: `<${levels}>`, default: "info", help: "-l: log level" },
    { name: "component-log-level", value: "<component:level,...>", help: "per-component levels (accepted; the most verbose applies)" },
    { name: "log-format", value: "<format>", help: "accepted, ignored" },
    { name: "log-path", value: "<file>", help: "accepted, ignored (logs go to stderr)" },
    { name: "concurrency", value: "<n>", help: "worker threads (default: the CPUs available)" },
    { name: "skip-deprecated-logs", help: "accepted" },
    { name: "enable-core-dump", help: "accepted, ignored" },
    { name: "base-id", value: "<n>", default: "0", help: "accepted, ignored (hot restart)" },
    { name: "use-dynamic-base-id", help: "accepted, ignored (hot restart)" },
    { name: "restart-epoch", value: "<n>", default: "0", help: "accepted; only 0 (Outrigger never hot-restarts)" },
    { name: "parent-shutdown-time-s", value: "<s>", help: "accepted, ignored (hot restart; pilot-agent passed it before 1.18)" },
    { name: "cpuset-threads", help: "accepted, ignored (--concurrency or the CPUs available decide)" },
    { name: "service-cluster", value: "<name>", help: "node.cluster when the bootstrap has none" },
    { name: "service-node", value: "<id>", help: "node.id when the bootstrap has none" },
    { name: "service-zone", value: "<zone>", help: "node.locality.zone when the bootstrap has none" },
    { name: "version", help: "print the version and exit" },
  ] satisfies FlagSpec[],
};

/** Envoy's short forms. */
const shortFlags: Record<string, string> = { "-c": "--config-path", "-l": "--log-level" };

function int(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw usageError(`--${name}: expected an integer, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw usageError(`--${name}: ${text} is out of range ${min}..${max}`);
  return n;
}

function oneOf<T extends string>(name: string, text: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(text)) throw usageError(`--${name}: expected one of ${values.join(", ")}, got "${text}"`);
  return text as T;
}

/** Envoy's argv → options. Throws a usage error naming the flag (unknown flag, bad value). */
export function parseEnvoyFlags(argv: readonly string[]): EnvoyOptions {
  const expanded: string[] = [];
  for (const a of argv) {
    const eq = a.indexOf("=");
    const head = eq === -1 ? a : a.slice(0, eq);
    const long = shortFlags[head];
    expanded.push(long === undefined ? a : eq === -1 ? long : `${long}${a.slice(eq)}`);
  }
  const p = parseFlags(envoyCommandSpec, expanded);
  const v = (n: string): string | undefined => p.values.get(n)?.[0];
  const on = (n: string): boolean => p.switches.has(n);
  const opts: EnvoyOptions = {
    mode: oneOf("mode", v("mode") ?? "serve", ["serve", "validate", "init_only"] as const),
    drainTimeS: int("drain-time-s", v("drain-time-s") ?? "600", 0, 2 ** 31),
    drainStrategy: oneOf("drain-strategy", v("drain-strategy") ?? "gradual", ["gradual", "immediate"] as const),
    localAddressIpVersion: oneOf("local-address-ip-version", v("local-address-ip-version") ?? "v4", ["v4", "v6"] as const),
    fileFlushIntervalMs: int("file-flush-interval-msec", v("file-flush-interval-msec") ?? "10000", 1, 2 ** 31),
    fileFlushMinSizeKb: int("file-flush-min-size-kb", v("file-flush-min-size-kb") ?? "64", 0, 2 ** 31),
    allowUnknownStaticFields: on("allow-unknown-static-fields"),
    rejectUnknownDynamicFields: on("reject-unknown-dynamic-fields"),
    ignoreUnknownDynamicFields: on("ignore-unknown-dynamic-fields"),
    disableHotRestart: on("disable-hot-restart"),
    logLevel: oneOf("log-level", v("log-level") ?? "info", ENVOY_LOG_LEVELS),
    componentLogLevels: [],
    skipDeprecatedLogs: on("skip-deprecated-logs"),
    enableCoreDump: on("enable-core-dump"),
    baseId: int("base-id", v("base-id") ?? "0", 0, 2 ** 31),
    restartEpoch: int("restart-epoch", v("restart-epoch") ?? "0", 0, 0),
    version: on("version"),
    help: p.help,
  };
  if (opts.ignoreUnknownDynamicFields && opts.rejectUnknownDynamicFields) {
    // Envoy: "error: the options --reject-unknown-dynamic-fields and --ignore-unknown-dynamic-fields are mutually exclusive"
    throw usageError("--reject-unknown-dynamic-fields and --ignore-unknown-dynamic-fields are mutually exclusive");
  }
  const cll = v("component-log-level");
  if (cll !== undefined) {
    for (const part of cll.split(",")) {
      const i = part.indexOf(":");
      const component = i === -1 ? "" : part.slice(0, i);
      const level = i === -1 ? "" : part.slice(i + 1);
      if (component === "" || level === "") throw usageError(`--component-log-level: component log level not correctly specified '${part}'`);
      opts.componentLogLevels.push({ component, level: oneOf("component-log-level", level, ENVOY_LOG_LEVELS) });
    }
  }
  const pst = v("parent-shutdown-time-s");
  if (pst !== undefined) int("parent-shutdown-time-s", pst, 0, 2 ** 31);
  const conc = v("concurrency");
  if (conc !== undefined) opts.concurrency = int("concurrency", conc, 1, 1024);
  const strings = [
    ["config-path", "configPath"],
    ["config-yaml", "configYaml"],
    ["log-format", "logFormat"],
    ["log-path", "logPath"],
    ["service-cluster", "serviceCluster"],
    ["service-node", "serviceNode"],
    ["service-zone", "serviceZone"],
  ] as const;
  for (const [flag, key] of strings) {
    const s = v(flag);
    if (s !== undefined) opts[key] = s;
  }
  if (!opts.help && !opts.version && opts.configPath === undefined && opts.configYaml === undefined) {
    // Envoy: "At least one of --config-path or --config-yaml or Options::configProto() should be non-empty"
    throw usageError("at least one of --config-path (-c) or --config-yaml must be given");
  }
  return opts;
}

/** Envoy's level → Outrigger's logger level (trace → debug, warning → warn, critical → error). */
export function outriggerLogLevel(level: EnvoyLogLevel): LogLevel {
  switch (level) {
    case "trace":
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warning":
    case "warn":
      return "warn";
    case "error":
    case "critical":
      return "error";
    case "off":
      return "off";
  }
}

/**
 * The level the process runs at: --log-level, lowered to the most verbose --component-log-level
 * (Outrigger has no per-component loggers; more logs beats losing the ones asked for).
 */
export function effectiveLogLevel(opts: EnvoyOptions): LogLevel {
  const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };
  let best = outriggerLogLevel(opts.logLevel);
  for (const c of opts.componentLogLevels) {
    const l = outriggerLogLevel(c.level);
    if (rank[l] < rank[best]) best = l;
  }
  return best;
}

/** ServerInfo.command_line_options (envoy.admin.v3.CommandLineOptions field names) for /server_info. */
export function commandLineOptionsJson(o: EnvoyOptions, concurrency: number): Record<string, unknown> {
  return {
    base_id: String(o.baseId),
    restart_epoch: o.restartEpoch,
    concurrency,
    config_path: o.configPath ?? "",
    config_yaml: o.configYaml ?? "",
    allow_unknown_static_fields: o.allowUnknownStaticFields,
    reject_unknown_dynamic_fields: o.rejectUnknownDynamicFields,
    ignore_unknown_dynamic_fields: o.ignoreUnknownDynamicFields,
    local_address_ip_version: o.localAddressIpVersion,
    log_level: o.logLevel === "warn" ? "warning" : o.logLevel,
    component_log_level: o.componentLogLevels.map((c) => `${c.component}:${c.level}`).join(","),
    log_format: o.logFormat ?? "[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v",
    log_path: o.logPath ?? "",
    service_cluster: o.serviceCluster ?? "",
    service_node: o.serviceNode ?? "",
    service_zone: o.serviceZone ?? "",
    drain_strategy: o.drainStrategy === "immediate" ? "Immediate" : "Gradual",
    file_flush_interval: `${o.fileFlushIntervalMs / 1000}s`,
    drain_time: `${o.drainTimeS}s`,
    mode: o.mode === "validate" ? "Validate" : o.mode === "init_only" ? "InitOnly" : "Serve",
    disable_hot_restart: o.disableHotRestart,
    enable_core_dump: o.enableCoreDump,
    skip_deprecated_logs: o.skipDeprecatedLogs,
  };
}
