// The OpenTelemetry SDK's standard environment variables (OTEL_*), read once at start-up, as the
// tracing part of the Bootstrap. How they combine with MeshConfig and Telemetry is decided in
// src/config/istio/telemetry-tracing.ts: what Istio config says wins, OTEL_* fill what it leaves
// unset, and an OTLP endpoint alone turns tracing on.

type Env = Readonly<Record<string, string | undefined>>;

export interface OtelEnv {
  /** OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: no spans at all, whatever else says. */
  tracesDisabled: boolean;
  /** Full OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or the generic one + /v1/traces). */
  endpoint?: string;
  /** OTEL_EXPORTER_OTLP_HEADERS then …_TRACES_HEADERS (the signal-specific one wins per name). */
  headers: Record<string, string>;
  /** OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT (ms). */
  timeoutMs?: number;
  serviceName?: string;
  /** From OTEL_TRACES_SAMPLER (+ _ARG): percent of new traces sampled. */
  samplingPercentage?: number;
}

/** A bad OTEL_* value; the message names the variable. */
export class OtelEnvError extends Error {}

const set = (env: Env, k: string): string | undefined => {
  const v = env[k];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
};

function bool(env: Env, k: string): boolean {
  const v = set(env, k);
  if (v === undefined) return false;
  // The spec: only a case-insensitive "true" enables; anything else is false (with a warning in SDKs).
  if (v.toLowerCase() === "true") return true;
  if (v.toLowerCase() === "false") return false;
  throw new OtelEnvError(`$${k}: expected true or false, got "${env[k]}"`);
}

function url(env: Env, k: string): URL {
  const v = set(env, k)!;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new OtelEnvError(`$${k}: expected an http:// or https:// URL, got "${env[k]}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new OtelEnvError(`$${k}: expected an http:// or https:// URL, got "${env[k]}"`);
  return u;
}

/** `k=v,k2=v2`, keys and values URL-encoded (W3C baggage-like, as the OTLP exporter spec says). */
function headers(env: Env, k: string, into: Record<string, string>): void {
  const v = set(env, k);
  if (v === undefined) return;
  for (const part of v.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new OtelEnvError(`$${k}: expected key=value pairs separated by commas, got "${part.trim()}"`);
    try {
      const name = decodeURIComponent(part.slice(0, eq).trim());
      into[name.toLowerCase()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new OtelEnvError(`$${k}: "${part.trim()}" is not valid URL encoding`);
    }
  }
}

function timeout(env: Env, k: string): number | undefined {
  const v = set(env, k);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new OtelEnvError(`$${k}: expected whole milliseconds, got "${env[k]}"`);
  return Number(v);
}

/** OTEL_TRACES_SAMPLER (+ OTEL_TRACES_SAMPLER_ARG) as a sampling percentage. */
function sampler(env: Env): number | undefined {
  const s = set(env, "OTEL_TRACES_SAMPLER");
  if (s === undefined) return undefined;
  const ratio = (): number => {
    const a = set(env, "OTEL_TRACES_SAMPLER_ARG");
    // The spec's default ratio is 1.0.
    if (a === undefined) return 100;
    const n = Number(a);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new OtelEnvError(`$OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1, got "${env["OTEL_TRACES_SAMPLER_ARG"]}"`);
    return n * 100;
  };
  // parentbased_*: a sampled or unsampled parent decides, like Envoy does with incoming context;
  // the root decision is the part a percentage expresses.
  switch (s.toLowerCase()) {
    case "always_on":
    case "parentbased_always_on":
      return 100;
    case "always_off":
    case "parentbased_always_off":
      return 0;
    case "traceidratio":
    case "parentbased_traceidratio":
      return ratio();
    default:
      throw new OtelEnvError(`$OTEL_TRACES_SAMPLER: unsupported sampler "${env["OTEL_TRACES_SAMPLER"]}" (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)`);
  }
}

/** Reads the OTEL_* variables; throws OtelEnvError naming the variable on a bad value. */
export function otelEnvFrom(env: Env): OtelEnv {
  const out: OtelEnv = { tracesDisabled: bool(env, "OTEL_SDK_DISABLED"), headers: {} };
  const exporter = set(env, "OTEL_TRACES_EXPORTER");
  if (exporter !== undefined) {
    const kinds = exporter.split(",").map((x) => x.trim().toLowerCase()).filter((x) => x !== "");
    for (const x of kinds) {
      if (x !== "otlp" && x !== "none") throw new OtelEnvError(`$OTEL_TRACES_EXPORTER: unsupported exporter "${x}" (outrigger exports otlp, or none)`);
    }
    if (kinds.includes("none")) out.tracesDisabled = true;
  }
  const protocol = set(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? set(env, "OTEL_EXPORTER_OTLP_PROTOCOL");
  if (protocol !== undefined && protocol !== "http/protobuf" && protocol !== "http/json") {
    const k = set(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") !== undefined ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
    throw new OtelEnvError(`$${k}: unsupported protocol "${protocol}" (outrigger exports OTLP over HTTP: http/protobuf or http/json)`);
  }
  if (set(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") !== undefined) {
    // The signal-specific endpoint is used as is.
    out.endpoint = url(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").href;
  } else if (set(env, "OTEL_EXPORTER_OTLP_ENDPOINT") !== undefined) {
    // The generic one is a base: the signal's path is appended (keeping any path it has).
    const u = url(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
    u.pathname = `${u.pathname.replace(/\/$/, "")}/v1/traces`;
    out.endpoint = u.href;
  }
  headers(env, "OTEL_EXPORTER_OTLP_HEADERS", out.headers);
  headers(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", out.headers);
  const t = timeout(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? timeout(env, "OTEL_EXPORTER_OTLP_TIMEOUT");
  if (t !== undefined) out.timeoutMs = t;
  const name = set(env, "OTEL_SERVICE_NAME");
  if (name !== undefined) out.serviceName = name;
  const pct = sampler(env);
  if (pct !== undefined) out.samplingPercentage = pct;
  return out;
}

/** No OTEL_* variables set. */
export function emptyOtelEnv(): OtelEnv {
  return { tracesDisabled: false, headers: {} };
}
