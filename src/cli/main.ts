// `outrigger` entry: pick the command, run it, map errors to exit codes (usage 2, failure 1).
// Everything outside (writers, env, signals, CPU count, entry points) can be injected for tests.

import { availableCpus } from "../bootstrap/cpu-count.js";
import { reusePortBalances } from "../bootstrap/reuse-port.js";
import { ErrorCode, hasCode } from "../common/errors.js";
import type { CliContext } from "./cli-context.js";
import { defaultDeps } from "./cli-context.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";
import { versionLine } from "./version-command.js";

/** A command as `outrigger --help` lists it; its module is loaded only when it runs. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

// Loaded on demand: the commands' modules together pull in the CA (node-forge), the proto registry
// (protobufjs) and the explain/config-dump machinery, ~100 ms of `run`'s start for nothing.
export const commands: readonly CommandEntry[] = [
  { name: "run", summary: "run the proxy", load: async () => (await import("./run-command.js")).runCommand },
  { name: "validate", summary: "check Istio YAML and show what it translates to", load: async () => (await import("./validate-command.js")).validateCommand },
  { name: "config-dump", summary: "print the translated configuration as JSON", load: async () => (await import("./config-dump-command.js")).configDumpCommand },
  { name: "explain", summary: "explain which listener, route and cluster a request would take, and why", load: async () => (await import("./explain-command.js")).explainCommand },
  { name: "demo", summary: "run the proxy with demo upstreams and config", load: async () => (await import("./demo-command.js")).demoCommand },
  { name: "ca", summary: "a small CA: make a root, issue workload certificates for --certs", load: async () => (await import("./ca-command.js")).caCommand },
  { name: "version", summary: "print the version", load: async () => (await import("./version-command.js")).versionCommand },
];

export function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "Usage: outrigger <command> [flags]",
    "",
    "Outrigger is a sidecar data-plane proxy for Istio meshes.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Flags:",
    "  -h, --help     show this help (`outrigger <command> --help` for a command's flags)",
    "  --version      print the version",
    "",
  ].join("\n");
}

export async function main(argv: readonly string[], overrides: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = {
    stdout: overrides.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: overrides.stderr ?? ((s) => void process.stderr.write(s)),
    env: overrides.env ?? process.env,
    signals: overrides.signals ?? process,
    cpuCount: overrides.cpuCount ?? (() => availableCpus()),
    reusePortBalances: overrides.reusePortBalances ?? (() => reusePortBalances()),
    deps: overrides.deps ?? defaultDeps,
  };
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.stderr(topLevelHelp());
    return ExitCode.Usage;
  }
  if (first === "-h" || first === "--help" || (first === "help" && rest.length === 0)) {
    ctx.stdout(topLevelHelp());
    return ExitCode.Ok;
  }
  if (first === "--version" || first === "-v") {
    ctx.stdout(versionLine());
    return ExitCode.Ok;
  }
  if (first === "help") return main([rest[0] as string, "--help"], ctx);
  const entry = commands.find((c) => c.name === first);
  if (entry === undefined) {
    ctx.stderr(`outrigger: unknown ${first.startsWith("-") ? "flag" : "command"} ${JSON.stringify(first)}\nsee \`outrigger --help\`\n`);
    return ExitCode.Usage;
  }
  const command = await entry.load();
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (hasCode(e, ErrorCode.Usage)) {
      ctx.stderr(`outrigger ${command.spec.name}: ${(e as Error).message}\nsee \`outrigger ${command.spec.name} --help\`\n`);
      return ExitCode.Usage;
    }
    ctx.stderr(`outrigger ${command.spec.name}: ${(e as Error).stack ?? String(e)}\n`);
    return ExitCode.Failure;
  }
}
