// Placeholder of the contract commit (the CORS helper fills it): the model's CorsPolicy as Envoy's
// envoy.extensions.filters.http.cors.v3.CorsPolicy JSON (with its "@type").

import type { CorsPolicy } from "../../config/model/types.js";
import type { Json } from "./envoy-json.js";

export function corsPolicyJson(_p: CorsPolicy): Json {
  throw new Error("corsPolicyJson is not implemented yet");
}
