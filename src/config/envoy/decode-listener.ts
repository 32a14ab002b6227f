// Placeholder of the contract commit: decodes Envoy's Listener (proto JSON) into the model.

import type { Listener } from "../model/types.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeListener(_json: Json, _ctx: DecodeContext): Decoded<Listener> {
  return { ok: false, errors: ["Listener decoding is not implemented yet"] };
}
