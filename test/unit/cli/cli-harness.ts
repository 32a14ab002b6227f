// Test harness for `main`: captured stdout/stderr, a fake signal source, injectable deps.

import { EventEmitter } from "node:events";
import { main } from "../../../src/cli/main.js";
import type { CliContext, CliDeps } from "../../../src/cli/cli-context.js";

export class FakeSignals extends EventEmitter {
  send(signal: NodeJS.Signals): void {
    this.emit(signal);
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function harness(opts: { env?: Record<string, string>; deps?: Partial<CliDeps>; cpuCount?: number; reusePortBalances?: boolean } = {}) {
  const out = { stdout: "", stderr: "" };
  const signals = new FakeSignals();
  // Output waiters are woken by the command's own writes, never by a timer.
  const wake = new Set<() => void>();
  const wrote = (): void => {
    for (const w of [...wake]) w();
  };
  const ctx: Partial<CliContext> = {
    stdout: (s) => ((out.stdout += s), wrote()),
    stderr: (s) => ((out.stderr += s), wrote()),
    env: opts.env ?? {},
    signals,
    cpuCount: () => opts.cpuCount ?? 2,
    reusePortBalances: () => opts.reusePortBalances ?? true,
  };
  if (opts.deps !== undefined) {
    const deps = opts.deps;
    ctx.deps = {
      loadConfigSources: deps.loadConfigSources ?? (() => Promise.reject(new Error("no loader in this test"))),
      translate: deps.translate ?? (() => Promise.reject(new Error("no translator in this test"))),
      startSupervisor: deps.startSupervisor ?? (() => Promise.reject(new Error("no supervisor in this test"))),
    };
  }
  return {
    out,
    signals,
    /** Resolves once stdout or stderr contains `text` (rejects after `timeoutMs`). */
    output: (text: string, timeoutMs = 5_000): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => (wake.delete(check), reject(new Error(`no output containing ${JSON.stringify(text)} after ${timeoutMs} ms:\n${out.stderr}`))), timeoutMs);
        const check = (): void => {
          if (!out.stdout.includes(text) && !out.stderr.includes(text)) return;
          clearTimeout(timer);
          wake.delete(check);
          resolve();
        };
        wake.add(check);
        check();
      }),
    /** Start `main` without awaiting it (for long-running commands). */
    start: (argv: string[]) => main(withFreeStatsPort(argv), ctx),
    run: async (argv: string[]): Promise<CliRun> => {
      const code = await main(withFreeStatsPort(argv), ctx);
      return { code, ...out };
    },
  };
}

/**
 * `run` binds the stats port (15090) and the health port (15021) on every address: tests running
 * side by side would fight over them, so unless a test names one, a free port is picked.
 */
export function withFreeStatsPort(argv: string[]): string[] {
  if (argv[0] !== "run" || argv.some((a) => a === "--help" || a === "-h")) return argv;
  let out = argv;
  for (const flag of ["--stats-port", "--health-port"]) {
    if (!out.some((a) => a === flag || a.startsWith(`${flag}=`))) out = ["run", flag, "0", ...out.slice(1)];
  }
  return out;
}
