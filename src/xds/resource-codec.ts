// The production ResourceCodec: Any bytes → proto JSON by proto-json.ts, proto JSON → the model by
// decode-resource.ts (the same decoders the bootstrap's static_resources go through), origin `xds`.

import { decodeResource } from "../config/envoy/decode-resource.js";
import type { DecodeContext } from "../config/envoy/decoded.js";
import { anyToJson } from "../config/envoy/proto-json.js";
import type { ResourceCodec } from "./xds-options.js";

/** `cwd`: where relative paths in resources (Envoy's Pipe, file DataSources) resolve. */
export function envoyResourceCodec(cwd?: string): ResourceCodec {
  const ctx: DecodeContext = { origin: "xds", ...(cwd !== undefined ? { cwd } : {}) };
  return {
    anyToJson: (typeUrl, value) => anyToJson(typeUrl, value),
    decode: (type, json) => decodeResource(type, json, ctx),
  };
}
