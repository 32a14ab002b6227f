// The bootstrap's secret source: --certs (files) or --ca-address (the Istio CA), none without them.

import { readFileSync } from "node:fs";
import type { Bootstrap } from "../bootstrap/bootstrap.js";
import { usageError } from "../bootstrap/flag-parser.js";
import type { Logger } from "../common/logger.js";
import { mathRandom } from "../common/random.js";
import { realTimers } from "../common/timers.js";
import type { ConfigSource } from "../config/source/config-source.js";
import { CertsDirSource } from "./certs-dir-source.js";

/** How long `run` keeps asking an unreachable CA for the first certificate. */
const START_RETRY_MS = 60_000;

/** Async: the CA client and its grpc-js load only for --ca-address (not at a --certs start). */
export async function secretSourceFor(b: Bootstrap, log: Logger): Promise<ConfigSource | undefined> {
  const id = b.identity;
  const src = id?.source;
  if (id === undefined || src === undefined) return undefined;
  // Watched even with --no-watch: certificates rotate by themselves, config changes when edited.
  if (src.kind === "certs") return new CertsDirSource(src.dir, log);
  let rootPem: string | undefined;
  if (src.rootFile !== undefined) {
    try {
      rootPem = readFileSync(src.rootFile, "utf8");
    } catch (e) {
      throw usageError(`--ca-root ${src.rootFile}: ${(e as Error).message}`);
    }
  }
  const [{ IstioCaClient }, { IstioCaSource }] = await Promise.all([import("./istio-ca-client.js"), import("./istio-ca-source.js")]);
  const signer = new IstioCaClient({ address: src.address, tokenFile: src.tokenFile, clusterId: src.clusterId, ...(rootPem !== undefined ? { rootPem } : {}) });
  const spiffeId = `spiffe://${id.trustDomain}/ns/${b.namespace}/sa/${id.serviceAccount ?? "default"}`;
  // Transient failures (istiod still starting, token not mounted yet) are retried for a minute
  // at start; an answer (token refused) fails the start at once.
  return new IstioCaSource({ signer, address: src.address, spiffeId, keyType: src.keyType, timers: realTimers, random: mathRandom, now: Date.now, startRetryMs: START_RETRY_MS }, log);
}
