// What a CLI command may touch of the outside world: output writers, environment, signals, CPU
// count, the SO_REUSEPORT platform check and the config/supervisor entry points. Tests inject all
// of it; `main` fills the defaults.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { Logger } from "../common/logger.js";
import type { SourceDocument } from "../config/load/load-sources.js";
import type { ConfigError } from "../config/model/config-error.js";
import type { TranslateOptions, TranslateResult } from "../config/istio/translate.js";
import type { Supervisor } from "../supervisor/supervisor-api.js";

export type { TranslateOptions, TranslateResult };

export type Writer = (text: string) => void;

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/** The entry points commands call; loaded lazily so `validate` never loads the data path. */
export interface CliDeps {
  loadConfigSources(paths: string[]): Promise<{ documents: SourceDocument[]; errors: ConfigError[] }>;
  translate(documents: SourceDocument[], opts: TranslateOptions): TranslateResult | Promise<TranslateResult>;
  startSupervisor(bootstrap: Bootstrap, log: Logger): Promise<Supervisor>;
}

export interface CliContext {
  stdout: Writer;
  stderr: Writer;
  env: Readonly<Record<string, string | undefined>>;
  signals: SignalSource;
  /** CPUs available to this process (cgroup aware). */
  cpuCount: () => number;
  /** Whether this OS balances SO_REUSEPORT listeners (injectable so tests run the fallback). */
  reusePortBalances: () => boolean;
  deps: CliDeps;
}

export const defaultDeps: CliDeps = {
  loadConfigSources: async (paths) => (await import("../config/load/load-sources.js")).loadConfigSources(paths),
  translate: async (documents, opts) => (await import("../config/istio/translate.js")).translate(documents, opts),
  startSupervisor: async (bootstrap, log) => (await import("../supervisor/supervisor.js")).startSupervisor(bootstrap, log),
};
