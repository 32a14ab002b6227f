// Helpers for admin API tests: a complete Bootstrap and the Supervisor methods a fake supervisor
// does not care about.

import { defaultLimits, type Bootstrap } from "../../src/bootstrap/bootstrap.js";
import type { LogLevel } from "../../src/common/logger.js";
import { nodeIdentity } from "../../src/observability/node-identity.js";
import type { Supervisor } from "../../src/supervisor/supervisor-api.js";

export function testBootstrap(overrides: Partial<Bootstrap> = {}): Bootstrap {
  return {
    configPaths: ["/etc/outrigger"],
    workers: 2,
    adminAddress: "127.0.0.1",
    adminPort: 0,
    namespace: "shop",
    proxyLabels: { app: "productpage", version: "v1" },
    domainSuffix: "cluster.local",
    outbound: null,
    drainTimeoutMs: 5_000,
    exitOnZeroActiveConnections: false,
    minimumDrainMs: 5_000,
    reusePort: true,
    limits: defaultLimits,
    logLevel: "info",
    node: nodeIdentity({ env: { POD_NAME: "productpage-v1-6b746f74dc-9stvs", INSTANCE_IP: "10.1.2.3" }, namespace: "shop", labels: { app: "productpage", version: "v1" }, domainSuffix: "cluster.local" }),
    watch: false,
    ...overrides,
  };
}

/** The admin-facing Supervisor methods, as no-ops (fakes spread this and override what they test). */
export function supervisorStubs(): Pick<Supervisor, "drainListeners" | "quit" | "setWorkerLogLevel" | "workerLogLevel" | "workerHeaps" | "reopenLogs"> {
  let level: LogLevel = "info";
  return {
    drainListeners: async () => {},
    quit: async () => {},
    setWorkerLogLevel: async (l) => ((level = l), [l]),
    workerLogLevel: () => level,
    workerHeaps: async () => [],
    reopenLogs: async () => {},
  };
}
