// Placeholder of the contract commit: decodes Envoy's Cluster (proto JSON) into the model.

import type { Cluster } from "../model/types.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeCluster(_json: Json, _ctx: DecodeContext): Decoded<Cluster> {
  return { ok: false, errors: ["Cluster decoding is not implemented yet"] };
}
