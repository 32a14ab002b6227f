// Logger: one line per event, `<ISO time> <level> <scope>: <message>`, to stderr by default.
// An object passed in, never a module singleton, so each worker and each test has its own.

export type LogLevel = "debug" | "info" | "warn" | "error" | "off";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(scope: string): Logger;
  readonly level: LogLevel;
  /** Change this logger's level at run time (the admin API's /logging); children made later start from it. */
  setLevel(level: LogLevel): void;
}

export type LogSink = (line: string) => void;

export function createLogger(level: LogLevel = "info", scope = "outrigger", sink: LogSink = (l) => process.stderr.write(l + "\n")): Logger {
  let current = level;
  let min = rank[level];
  const emit = (lvl: LogLevel, msg: string): void => {
    if (rank[lvl] < min) return;
    sink(`${new Date().toISOString()} ${lvl} ${scope}: ${msg}`);
  };
  return {
    get level() {
      return current;
    },
    setLevel(l: LogLevel) {
      current = l;
      min = rank[l];
    },
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (s) => createLogger(current, `${scope}/${s}`, sink),
  };
}

export function isLogLevel(s: string): s is LogLevel {
  return s in rank;
}
