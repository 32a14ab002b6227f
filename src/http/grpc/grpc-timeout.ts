// The `grpc-timeout` request header (gRPC over HTTP/2: TimeoutValue of 1–8 digits, then a unit),
// read and written as Envoy's Grpc::Common::getGrpcTimeout / toGrpcTimeout do.

import type { HeaderList } from "../header-list.js";

/** The largest TimeoutValue: 8 digits. */
const MAX_VALUE = 99_999_999;

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1 };

/**
 * The timeout in ms, or undefined when the header is absent or malformed (Envoy ignores it then).
 * Sub-millisecond units round up, so a 1 µs deadline is 1 ms, never 0 (= no timeout).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2) return undefined;
  const digits = value.slice(0, -1);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const n = Number(digits);
  if (n > MAX_VALUE) return undefined;
  const unit = value[value.length - 1]!;
  const scale = UNIT_MS[unit];
  if (scale !== undefined) return n * scale;
  if (unit === "u") return Math.ceil(n / 1000);
  if (unit === "n") return Math.ceil(n / 1_000_000);
  return undefined;
}

/** The request's grpc-timeout in ms (see parseGrpcTimeout). */
export function grpcTimeoutOf(headers: HeaderList): number | undefined {
  return parseGrpcTimeout(headers.get("grpc-timeout"));
}

/** Envoy's toGrpcTimeout: ms while it fits 8 digits, then seconds, minutes, hours (clipped). */
export function formatGrpcTimeout(ms: number): string {
  let t = Math.max(0, Math.floor(ms));
  if (t <= MAX_VALUE) return `${t}m`;
  t = Math.floor(t / 1000);
  if (t <= MAX_VALUE) return `${t}S`;
  t = Math.floor(t / 60);
  if (t <= MAX_VALUE) return `${t}M`;
  t = Math.floor(t / 60);
  return `${Math.min(t, MAX_VALUE)}H`;
}
