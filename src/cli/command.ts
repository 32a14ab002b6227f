// The shape every `outrigger <command>` file exports: its help/flag table and its action.

import type { CommandSpec } from "../bootstrap/flag-parser.js";
import type { CliContext } from "./cli-context.js";

export interface Command {
  spec: CommandSpec;
  /** One line for `outrigger --help`. */
  summary: string;
  /** Resolves with the process exit code. Usage problems throw ProxyError(USAGE) → exit 2. */
  run(argv: readonly string[], ctx: CliContext): Promise<number>;
}

/** Exit codes: 0 ok, 1 failure (bad config, cannot start), 2 usage error. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
