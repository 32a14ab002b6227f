// A discovery response of either protocol in one form, so the client's resource handling does not
// care whether it came over state of the world or delta.

import type { AnyMessage } from "./discovery-protos.js";

export interface ParsedResource {
  /** Delta: Resource.name. SotW: unknown until decoded. */
  name?: string;
  /** Delta: Resource.version. */
  version?: string;
  /** Absent in a delta Resource without a body (a heartbeat, or a TTL-only update). */
  any?: AnyMessage;
}

export interface ParsedResponse {
  kind: "sotw" | "delta";
  typeUrl: string;
  nonce: string;
  /** SotW version_info; delta system_version_info ("" when the server sends none). */
  versionInfo: string;
  resources: ParsedResource[];
  /** Delta removed_resources; SotW: always empty (absence is removal for LDS/CDS, decided by the client). */
  removed: string[];
}
