// Placeholder of the contract commit: decodes Envoy's RouteConfiguration (proto JSON) into the model.

import type { RouteConfiguration } from "../model/types.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeRouteConfiguration(_json: Json, _ctx: DecodeContext): Decoded<RouteConfiguration> {
  return { ok: false, errors: ["RouteConfiguration decoding is not implemented yet"] };
}
