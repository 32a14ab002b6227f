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
  const ctx: Partial<CliContext> = {
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
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
    /** Start `main` without awaiting it (for long-running commands). */
    start: (argv: string[]) => main(argv, ctx),
    run: async (argv: string[]): Promise<CliRun> => {
      const code = await main(argv, ctx);
      return { code, ...out };
    },
  };
}
