// Reading the model in tests: the HTTP connection manager of a listener's (first) filter chain.

import { httpConnectionManagerOf } from "../../src/config/model/listener-defaults.js";
import type { HttpConnectionManager, Listener } from "../../src/config/model/types.js";

export function hcmOfListener(l: Listener): HttpConnectionManager {
  const chain = l.filterChains[0];
  const hcm = chain === undefined ? undefined : httpConnectionManagerOf(chain);
  if (hcm === undefined) throw new Error(`listener ${l.name} has no HTTP connection manager`);
  return hcm;
}
