// `envoy.access_loggers.file`: per config, a compiled format (TEXT or JSON), an optional filter
// expression and the worker's shared file for the path. The factory is what a worker's
// TelemetryFactories.accessLogs runs once per snapshot and chain; a bad format, filter or an
// unopenable path throws (the snapshot is refused, as Envoy refuses the listener).

import type { AccessLogConfig } from "../../config/model/types.js";
import type { Counter, StatsStore } from "../stats/stats-store.js";
import type { StreamInfo } from "../stream-info.js";
import type { AccessLogger, TelemetryChainConfig } from "../telemetry.js";
import type { AccessLogFile } from "./access-log-file.js";
import type { AccessLogFiles } from "./access-log-files.js";
import { CelFilter } from "./cel-filter.js";
import { JsonFormatter } from "./json-formatter.js";
import { TextFormatter, type LineFormatter } from "./text-formatter.js";

export class FileAccessLogger implements AccessLogger {
  constructor(
    private readonly formatter: LineFormatter,
    private readonly file: AccessLogFile,
    private readonly filter: CelFilter | undefined,
    /** Filter expressions that failed to evaluate (the stream is not logged). */
    private readonly filterErrors: Counter,
  ) {}

  log(info: StreamInfo): void {
    const f = this.filter;
    if (f !== undefined) {
      const r = f.evaluate(info);
      if (r !== "match") {
        if (r === "error") this.filterErrors.inc();
        return;
      }
    }
    this.file.write(this.formatter.format(info));
  }
}

export function compileLineFormatter(format: AccessLogConfig["format"]): LineFormatter {
  return format.kind === "text" ? new TextFormatter(format.text) : new JsonFormatter(format.json);
}

/** TelemetryFactories.accessLogs over a worker's files and stats. */
export function fileAccessLogFactory(files: AccessLogFiles, stats: StatsStore): (configs: readonly AccessLogConfig[], chain: TelemetryChainConfig) => AccessLogger[] {
  const filterErrors = stats.counter("access_log.filter_evaluation_errors");
  return (configs, chain) =>
    configs.map((c, k) => {
      try {
        if (c.name !== "envoy.access_loggers.file") throw new Error(`unsupported access logger ${JSON.stringify(c.name)}`);
        const formatter = compileLineFormatter(c.format);
        const filter = c.filter === undefined ? undefined : new CelFilter(c.filter.expression);
        return new FileAccessLogger(formatter, files.open(c.path), filter, filterErrors);
      } catch (e) {
        throw new Error(`listener ${chain.listenerName}: accessLog[${k}]: ${(e as Error).message}`);
      }
    });
}
