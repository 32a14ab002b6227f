// Envoy's response flags in Envoy's own table order (source/common/stream_info/utility.h): the
// order %RESPONSE_FLAGS% renders them in, their %RESPONSE_FLAGS_LONG% names, and the bit each one
// has in the uint64 the CEL attribute `response.flags` exposes (bit = position in this table).

export interface EnvoyResponseFlag {
  short: string;
  long: string;
  bit: number;
}

const TABLE: ReadonlyArray<readonly [string, string]> = [
  ["LH", "FailedLocalHealthCheck"],
  ["UH", "NoHealthyUpstream"],
  ["UT", "UpstreamRequestTimeout"],
  ["LR", "LocalReset"],
  ["UR", "UpstreamRemoteReset"],
  ["UF", "UpstreamConnectionFailure"],
  ["UC", "UpstreamConnectionTermination"],
  ["UO", "UpstreamOverflow"],
  ["NR", "NoRouteFound"],
  ["DI", "DelayInjected"],
  ["FI", "FaultInjected"],
  ["RL", "RateLimited"],
  ["UAEX", "UnauthorizedExternalService"],
  ["RLSE", "RateLimitServiceError"],
  ["DC", "DownstreamConnectionTermination"],
  ["URX", "UpstreamRetryLimitExceeded"],
  ["SI", "StreamIdleTimeout"],
  ["IH", "InvalidEnvoyRequestHeaders"],
  ["DPE", "DownstreamProtocolError"],
  ["UMSDR", "UpstreamMaxStreamDurationReached"],
  ["RFCF", "ResponseFromCacheFilter"],
  ["NFCF", "NoFilterConfigFound"],
  ["DT", "DurationTimeout"],
  ["UPE", "UpstreamProtocolError"],
  ["NC", "NoClusterFound"],
  ["OM", "OverloadManagerTerminated"],
  ["DF", "DnsResolutionFailed"],
  ["DO", "DropOverload"],
];

/** Short flag → its table entry. */
export const ENVOY_RESPONSE_FLAGS: ReadonlyMap<string, EnvoyResponseFlag & { index: number }> = new Map(
  TABLE.map(([short, long], index) => [short, { short, long, bit: 2 ** index, index }]),
);

function ordered(flags: readonly string[]): readonly string[] {
  if (flags.length < 2) return flags;
  return flags.slice().sort((a, b) => (ENVOY_RESPONSE_FLAGS.get(a)?.index ?? 99) - (ENVOY_RESPONSE_FLAGS.get(b)?.index ?? 99));
}

/**
 * %RESPONSE_FLAGS%: short flags in Envoy's table order, comma-separated; `-` when none (a string
 * `-` in JSON too: Envoy's flag utility returns it, it is not an unset value).
 */
export function shortFlags(flags: readonly string[]): string {
  if (flags.length === 0) return "-";
  if (flags.length === 1) return flags[0]!;
  return ordered(flags).join(",");
}

/** %RESPONSE_FLAGS_LONG%: long names in table order, comma-separated; `-` when none. */
export function longFlags(flags: readonly string[]): string {
  if (flags.length === 0) return "-";
  return ordered(flags)
    .map((f) => ENVOY_RESPONSE_FLAGS.get(f)?.long ?? f)
    .join(",");
}

/** The flags as Envoy's bit field (CEL `response.flags`). */
export function flagBits(flags: readonly string[]): number {
  let bits = 0;
  for (const f of flags) bits += ENVOY_RESPONSE_FLAGS.get(f)?.bit ?? 0;
  return bits;
}
