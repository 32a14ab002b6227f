// The contract between the bootstrap (which knows where the control plane is) and the xDS client
// (src/xds/xds-source.ts: ADS, state of the world or delta, plus an SDS stream). The client is a
// ConfigSource: it pushes decoded resources into the supervisor's sink and ACKs or NACKs each
// response by the sink's answer.

import type { Logger } from "../common/logger.js";
import type { Timers } from "../common/timers.js";
import type { Decoded, Json } from "../config/envoy/decoded.js";
import type { ResourceOfType, ResourceType } from "../config/source/config-source.js";

/** `GRPC` (state of the world) or `DELTA_GRPC` (incremental) in Envoy's ads_config.api_type. */
export type XdsMode = "sotw" | "delta";

/** Bytes ↔ model, injected so the client is tested on its own. Production: proto-json.ts + decode-resource.ts. */
export interface ResourceCodec {
  /** A google.protobuf.Any's bytes → proto JSON (decoded.ts' form); throws with the reason when the bytes do not decode. */
  anyToJson(typeUrl: string, value: Uint8Array): Json;
  /** proto JSON of a resource of `type` → the model (decode-resource.ts' decodeResource). */
  decode<T extends ResourceType>(type: T, json: Json): Decoded<ResourceOfType[T]>;
}

/** A gRPC endpoint of the bootstrap (an `envoy_grpc` cluster's one host). */
export interface GrpcTarget {
  /** grpc-js target: `unix:/abs/path` (a Pipe, resolved against the working directory) or `host:port`. */
  target: string;
  /** The bootstrap cluster's name (`xds-grpc`, `sds-grpc`), for logs and stats. */
  clusterName: string;
}

export interface XdsSourceOptions {
  /** The ADS server (dynamic_resources.ads_config). */
  ads: GrpcTarget;
  mode: XdsMode;
  /** The bootstrap's `node`, proto JSON, sent verbatim (on the first request only when setNodeOnFirstMessageOnly). */
  node: Json;
  /** ads_config.set_node_on_first_message_only (istiod's bootstrap: true). */
  setNodeOnFirstMessageOnly: boolean;
  /**
   * Where SDS secrets come from (the sds-grpc cluster: pilot-agent's SDS socket, state of the world
   * only), for the secret names the resources refer to by an SDS config that names that cluster.
   * Absent = every secret over ADS.
   */
  sds?: GrpcTarget;
  /** Secret names served by `sds` (not ADS). Default: every name not starting with `kubernetes://`. */
  sdsSecretName?: (name: string) => boolean;
  codec: ResourceCodec;
  /**
   * initial_fetch_timeout per type, ms; 0 = wait for ever (istiod's lds/cds config: 0s). Envoy's
   * default is 15 000. After it, warming stops waiting for that resource.
   */
  initialFetchTimeoutMs: { cds: number; lds: number; eds: number; rds: number; sds: number };
  /** Reconnect back-off: Envoy's default base 500 ms, max 30 s (full jitter). */
  backoff?: { baseMs: number; maxMs: number };
  log: Logger;
  /** Back-off and initial fetch timeout timers (tests: ManualTimers). Default: real ones, unref'd. */
  timers?: Timers;
  /** The back-off jitter's randomness, in [0, 1). Default Math.random. */
  random?: () => number;
}
