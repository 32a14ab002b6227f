// Placeholder of the contract commit (the xDS helper fills it): the xDS client as a ConfigSource.

import type { ConfigSource } from "../config/source/config-source.js";
import type { XdsSourceOptions } from "./xds-options.js";

export function createXdsSource(_options: XdsSourceOptions): ConfigSource {
  throw new Error("the xDS client is not implemented yet");
}
