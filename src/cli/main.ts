// `outrigger` entry: pick the command, run it, map errors to exit codes (usage 2, failure 1).
// Everything outside (writers, env, signals, CPU count, entry points) can be injected for tests.

import { availableCpus } from "../bootstrap/cpu-count.js";
import { reusePortBalances } from "../bootstrap/reuse-port.js";
import { ErrorCode, hasCode } from "../common/errors.js";
import type { CliContext } from "./cli-context.js";
import { defaultDeps } from "./cli-context.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";
import { caCommand } from "./ca-command.js";
import { configDumpCommand } from "./config-dump-command.js";
import { demoCommand } from "./demo-command.js";
import { explainCommand } from "./explain-command.js";
import { runCommand } from "./run-command.js";
import { validateCommand } from "./validate-command.js";
import { versionCommand, versionLine } from "./version-command.js";

export const commands: readonly Command[] = [runCommand, validateCommand, configDumpCommand, explainCommand, demoCommand, caCommand, versionCommand];

export function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return [
    "Usage: outrigger <command> [flags]",
    "",
    "Outrigger is a sidecar data-plane proxy for Istio meshes.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.summary}`),
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
  const command = commands.find((c) => c.spec.name === first);
  if (command === undefined) {
    ctx.stderr(`outrigger: unknown ${first.startsWith("-") ? "flag" : "command"} ${JSON.stringify(first)}\nsee \`outrigger --help\`\n`);
    return ExitCode.Usage;
  }
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
