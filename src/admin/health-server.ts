// The health port (Istio's 15021, on 0.0.0.0): `GET /healthz/ready` for Kubernetes readiness
// probes. In Istio the sidecar's static listener forwards it to pilot-agent, which checks that
// config arrived and that Envoy's server.state is LIVE; Outrigger answers it itself: 200 once
// every listener of the first snapshot is bound, 503 with the reason while initializing,
// draining or failed by hand (/healthcheck/fail).

import type { Logger } from "../common/logger.js";
import type { AdminControl } from "./admin-control.js";
import { serveAdminRoutes, textResponse, type AdminServer } from "./admin-server.js";

export const HEALTH_READY_PATH = "/healthz/ready";

export function startHealthServer(opts: { address?: string; port: number; control: AdminControl; log: Logger }): Promise<AdminServer> {
  return serveAdminRoutes({
    what: "health port",
    address: opts.address ?? "0.0.0.0",
    port: opts.port,
    log: opts.log,
    routes: [
      {
        path: HEALTH_READY_PATH,
        method: "GET",
        help: "200 once the proxy is LIVE, else 503 with the reason (Kubernetes readiness probe)",
        handle: () => {
          const reason = opts.control.notReadyReason();
          return reason === undefined ? textResponse("") : textResponse(reason + "\n", 503);
        },
      },
    ],
  });
}
