// Placeholder of the contract commit (the CORS helper fills it): Envoy's CorsPolicy
// (envoy.extensions.filters.http.cors.v3.CorsPolicy, proto JSON) → the model's CorsPolicy.

import type { CorsPolicy } from "../model/types.js";
import type { Decoded, Json } from "./decoded.js";

export function decodeCorsPolicy(_json: Json): Decoded<CorsPolicy> {
  return { ok: false, errors: ["CorsPolicy decoding is not implemented yet"] };
}
