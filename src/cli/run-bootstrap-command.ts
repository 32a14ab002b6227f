// `outrigger run --bootstrap FILE`: what `outrigger-envoy -c FILE` does, with Outrigger's flags
// (--workers, --log-level, --drain-timeout, --admin-port) instead of Envoy's.

import { flagValue, parseFlags, renderHelp, usageError, type CommandSpec } from "../bootstrap/flag-parser.js";
import { defaultDrainTimeoutMs } from "../bootstrap/bootstrap.js";
import { formatDuration } from "../bootstrap/duration.js";
import { durationFlag, logLevelFlag, portFlag } from "../bootstrap/flag-values.js";
import { adminPortFlag, bootstrapFlag, logLevelFlagSpec, workersFlag, workersFromFlag } from "../bootstrap/parse-run-flags.js";
import { commandLineOptionsJson, parseEnvoyFlags } from "../envoy/envoy-flags.js";
import { prepareEnvoyRun } from "../envoy/prepare-envoy-run.js";
import type { CliContext } from "./cli-context.js";
import { ExitCode } from "./command.js";
import { runProxy } from "./run-command.js";

export const runBootstrapSpec: CommandSpec = {
  name: "run",
  usage: "outrigger run --bootstrap <file> [--workers n] [--log-level l] [--drain-timeout d] [--admin-port p]",
  description: "Run the proxy from an Envoy v3 bootstrap, as `outrigger-envoy -c <file>` does.",
  flags: [
    { ...bootstrapFlag, required: true },
    workersFlag,
    logLevelFlagSpec,
    { name: "drain-timeout", value: "<duration>", default: formatDuration(defaultDrainTimeoutMs), help: "how long drain_listeners?graceful and SIGTERM drain" },
    { ...adminPortFlag, default: "the bootstrap's admin.address port" },
  ],
};

export async function runFromEnvoyBootstrap(argv: readonly string[], ctx: CliContext & { cwd?: string }): Promise<number> {
  const parsed = parseFlags(runBootstrapSpec, argv);
  if (parsed.help) {
    ctx.stdout(renderHelp(runBootstrapSpec));
    return ExitCode.Ok;
  }
  const file = flagValue(parsed, "bootstrap");
  if (file === undefined) throw usageError("--bootstrap needs a value <file>");
  const workers = workersFromFlag(flagValue(parsed, "workers"), ctx.cpuCount);
  const level = flagValue(parsed, "log-level");
  const drain = flagValue(parsed, "drain-timeout");
  const adminPort = flagValue(parsed, "admin-port");
  const drainTimeoutMs = drain === undefined ? defaultDrainTimeoutMs : durationFlag("drain-timeout", drain);
  let prepared;
  try {
    prepared = await prepareEnvoyRun({
      configPath: file,
      allowUnknownStaticFields: false,
      flags: {},
      cwd: ctx.cwd ?? process.cwd(),
      settings: { workers, reusePort: ctx.reusePortBalances(), logLevel: level === undefined ? "info" : logLevelFlag("log-level", level), drainTimeoutMs },
      adminPort: adminPort === undefined ? undefined : portFlag("admin-port", adminPort),
    });
  } catch (e) {
    ctx.stderr(`outrigger run: error initializing configuration '${file}': ${(e as Error).message}\n`);
    return ExitCode.Failure;
  }
  // /server_info shows the Envoy command line this run is equivalent to.
  const equivalent = parseEnvoyFlags(["-c", file, "--drain-time-s", String(Math.ceil(drainTimeoutMs / 1000)), "--concurrency", String(prepared.bootstrap.workers)]);
  return runProxy(prepared.bootstrap, ctx, "run", {
    startSupervisor: prepared.startSupervisor,
    envoy: { bootstrap: prepared.envoy.json, node: prepared.envoy.node, commandLineOptions: commandLineOptionsJson(equivalent, prepared.bootstrap.workers) },
  });
}
