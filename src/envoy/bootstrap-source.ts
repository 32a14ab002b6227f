// The config source of a proxy run from an Envoy bootstrap: the static_resources first (one static
// update: they can never be replaced or removed by xDS), then the xDS client when the bootstrap
// has dynamic_resources. Its first result is the first xDS update applied (Envoy's server stays
// INITIALIZING until then, also through refused ones: the proxy keeps running and pilot-agent's
// readiness reports the rejection), or the static update's when there is no xDS.

import type { ConfigSink, ConfigSource, ConfigTypeCounts, ConfigUpdate, UpdateResult } from "../config/source/config-source.js";
import { versionHash } from "../observability/stats/server-stats.js";
import type { XdsSource } from "../xds/xds-source.js";

export class BootstrapSource implements ConfigSource {
  readonly name = "bootstrap";
  private last: UpdateResult | undefined;

  constructor(
    private readonly staticUpdate: ConfigUpdate,
    private readonly xds: (ConfigSource & Partial<Pick<XdsSource, "stats">>) | undefined,
  ) {
    this.configStats = xds?.stats === undefined ? undefined : () => this.xdsCounts();
  }

  /**
   * Envoy counts CDS/LDS responses (ACKed or NACKed), not snapshots: the xDS client's own counters
   * (absent for a client without them — the supervisor then counts its pushes).
   */
  readonly configStats: (() => ConfigTypeCounts) | undefined;

  private xdsCounts(): ConfigTypeCounts {
    const s = this.xds?.stats?.();
    const of = (t: "cluster" | "listener"): ConfigTypeCounts["cds"] => {
      const c = s?.[t];
      return c === undefined ? { attempt: 0, success: 0, rejected: 0, version: 0 } : { attempt: c.updateAttempt, success: c.updateSuccess, rejected: c.updateRejected, version: c.versionText === "" ? 0 : versionHash(c.versionText) };
    };
    return { cds: of("cluster"), lds: of("listener") };
  }

  async start(sink: ConfigSink): Promise<UpdateResult> {
    this.last = await sink.push(this.staticUpdate);
    if (!this.last.accepted || this.xds === undefined) return this.last;
    let accepted: (r: UpdateResult) => void = () => {};
    const firstAccepted = new Promise<UpdateResult>((resolve) => (accepted = resolve));
    const watching: ConfigSink = {
      push: async (update) => {
        const r = await sink.push(update);
        if (r.accepted) accepted(r);
        return r;
      },
    };
    const first = await this.xds.start(watching);
    this.last = first.accepted ? first : await firstAccepted;
    return this.last;
  }

  /** Static resources never change; the xDS client pushes on its own (its refresh answers its last result). */
  async refresh(reason: string): Promise<UpdateResult> {
    if (this.xds !== undefined) return this.xds.refresh(reason);
    return this.last ?? { accepted: true, errors: [], version: null };
  }

  close(): void {
    this.xds?.close();
  }
}
