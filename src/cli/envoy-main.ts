// `outrigger-envoy`: Outrigger with Envoy's command line, what pilot-agent execs as its proxy
// (`-c ./etc/istio/proxy/envoy-rev.json --drain-time-s 45 --drain-strategy immediate …`). Reads the
// bootstrap, then runs like `outrigger run` with the bootstrap's static resources, its xDS client
// and its admin address. Exit codes as Envoy's: 0, or 1 for any error (usage errors included).

import { renderHelp } from "../bootstrap/flag-parser.js";
import { availableCpus } from "../bootstrap/cpu-count.js";
import { reusePortBalances } from "../bootstrap/reuse-port.js";
import { ErrorCode, hasCode } from "../common/errors.js";
import { serverVersion } from "../admin/server-info.js";
import { defaultDeps, type CliContext } from "./cli-context.js";
import { ExitCode } from "./command.js";
import { runProxy } from "./run-command.js";
import { commandLineOptionsJson, effectiveLogLevel, envoyCommandSpec, parseEnvoyFlags, type EnvoyOptions } from "../envoy/envoy-flags.js";
import { prepareEnvoyRun, type PrepareEnvoyRunOptions } from "../envoy/prepare-envoy-run.js";

export function contextWithDefaults(overrides: Partial<CliContext> & { cwd?: string }): CliContext & { cwd: string } {
  return {
    stdout: overrides.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: overrides.stderr ?? ((s) => void process.stderr.write(s)),
    env: overrides.env ?? process.env,
    signals: overrides.signals ?? process,
    cpuCount: overrides.cpuCount ?? (() => availableCpus()),
    reusePortBalances: overrides.reusePortBalances ?? (() => reusePortBalances()),
    deps: overrides.deps ?? defaultDeps,
    cwd: overrides.cwd ?? process.cwd(),
  };
}

/** What tests replace: the resource decoder, the proto check and the xDS client (prepare-envoy-run.ts' defaults otherwise). */
export type EnvoyDeps = Pick<PrepareEnvoyRunOptions, "decode" | "normalize" | "createXdsSource">;

export async function envoyMain(argv: readonly string[], overrides: Partial<CliContext> & { cwd?: string; envoyDeps?: EnvoyDeps } = {}): Promise<number> {
  const ctx = contextWithDefaults(overrides);
  const program = "outrigger-envoy";
  let opts: EnvoyOptions;
  try {
    opts = parseEnvoyFlags(argv);
  } catch (e) {
    if (!hasCode(e, ErrorCode.Usage)) throw e;
    // Envoy exits 1 on a bad command line (TCLAP's PARSE ERROR), not 2.
    ctx.stderr(`${program}: PARSE ERROR: ${(e as Error).message}\nsee \`${program} --help\`\n`);
    return ExitCode.Failure;
  }
  if (opts.help) {
    ctx.stdout(renderHelp(envoyCommandSpec));
    return ExitCode.Ok;
  }
  if (opts.version) {
    ctx.stdout(`\n${program}  version: ${serverVersion()}\n\n`);
    return ExitCode.Ok;
  }
  const workers = opts.concurrency ?? Math.max(1, ctx.cpuCount());
  let prepared;
  try {
    prepared = await prepareEnvoyRun({
      configPath: opts.configPath,
      configYaml: opts.configYaml,
      allowUnknownStaticFields: opts.allowUnknownStaticFields,
      flags: opts,
      cwd: ctx.cwd,
      ...overrides.envoyDeps,
      settings: { workers, reusePort: ctx.reusePortBalances(), logLevel: effectiveLogLevel(opts), drainTimeoutMs: opts.drainTimeS * 1000, accessLogFlush: { intervalMs: opts.fileFlushIntervalMs, minBytes: opts.fileFlushMinSizeKb * 1024 } },
    });
  } catch (e) {
    ctx.stderr(`${program}: error initializing configuration '${opts.configPath ?? "--config-yaml"}': ${(e as Error).message}\n`);
    return ExitCode.Failure;
  }
  if (opts.mode === "validate") {
    // Envoy: "configuration '<path>' OK".
    ctx.stdout(`configuration '${opts.configPath ?? "--config-yaml"}' OK\n`);
    return ExitCode.Ok;
  }
  // init_only: Envoy initializes and exits without serving; here the bootstrap read and checked is
  // all there is to initialize without binding anything.
  if (opts.mode === "init_only") return ExitCode.Ok;
  return runProxy(prepared.bootstrap, ctx, "envoy", {
    program,
    startSupervisor: prepared.startSupervisor,
    envoy: { bootstrap: prepared.envoy.json, node: prepared.envoy.node, commandLineOptions: commandLineOptionsJson(opts, prepared.bootstrap.workers) },
  });
}
