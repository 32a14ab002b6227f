// The bootstrap's secret source: --certs (files) or --ca-address (the Istio CA), none without them.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { Logger } from "../common/logger.js";
import type { ConfigSource } from "../config/source/config-source.js";
import { CertsDirSource } from "./certs-dir-source.js";

export function secretSourceFor(b: Bootstrap, log: Logger): ConfigSource | undefined {
  const src = b.identity?.source;
  if (src === undefined) return undefined;
  // Watched even with --no-watch: certificates rotate by themselves, config changes when edited.
  if (src.kind === "certs") return new CertsDirSource(src.dir, log);
  throw new Error("--ca-address: the Istio CA client is not built yet");
}
