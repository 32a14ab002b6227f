// Placeholder of the contract commit: decodes Envoy's ClusterLoadAssignment (proto JSON) into the model.

import type { ClusterEndpoints } from "../source/config-source.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeClusterLoadAssignment(_json: Json, _ctx: DecodeContext): Decoded<ClusterEndpoints> {
  return { ok: false, errors: ["ClusterLoadAssignment decoding is not implemented yet"] };
}
