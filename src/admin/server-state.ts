// Envoy's envoy.admin.v3.ServerInfo.State as the admin API reports it (/ready, /server_info,
// :15021/healthz/ready): INITIALIZING while workers bind the first snapshot, DRAINING once a
// drain began or the health check was failed by hand (/healthcheck/fail), else LIVE.

import type { AdminState } from "../supervisor/supervisor-api.js";

export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

export function serverState(state: AdminState, draining: boolean, healthCheckFailed = false): ServerState {
  // Not ready = workers are binding the first snapshot's listeners: Envoy's INITIALIZING (its init
  // manager is running). PRE_INITIALIZING is before that, which the admin server never sees.
  if (!state.isReady() && !draining) return "INITIALIZING";
  // Envoy: an initialized server whose health check failed reports DRAINING.
  return draining || healthCheckFailed ? "DRAINING" : "LIVE";
}
