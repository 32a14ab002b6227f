// Placeholder of the contract commit: decodes Envoy's Secret (proto JSON) into the model.

import type { SecretResource } from "../source/config-source.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeSecret(_json: Json, _ctx: DecodeContext): Decoded<SecretResource> {
  return { ok: false, errors: ["Secret decoding is not implemented yet"] };
}
