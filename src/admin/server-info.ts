// `/server_info` in Envoy's envoy.admin.v3.ServerInfo shape: version, state, uptimes, the command
// line options that apply to Outrigger, and the node as istio-agent describes it.

import { packageVersion } from "../cli/package-root.js";
import type { AdminControl } from "./admin-control.js";
import { duration } from "./config-dump/envoy-json.js";
import { nodeJson } from "./config-dump/bootstrap-json.js";
import { envoyLevelName } from "./logging-route.js";
import type { ServerState } from "./server-state.js";

/** Envoy's `<sha>/<version>/<Clean|Modified>/<RELEASE|DEBUG>/<TLS library>` with Outrigger's facts. */
export function serverVersion(): string {
  return `outrigger/${packageVersion()}/Clean/RELEASE/Node.js-${process.versions.node}`;
}

export function serverInfoJson(control: AdminControl, state: ServerState, nowMs: number): unknown {
  const b = control.bootstrap;
  // Whole seconds, as Envoy reports them; no hot restart, so both epochs are the same.
  const uptime = duration(Math.max(0, Math.floor((nowMs - control.startedAtMs) / 1000)) * 1000);
  return {
    version: serverVersion(),
    state,
    hot_restart_version: "disabled",
    command_line_options: control.envoy?.commandLineOptions ?? {
      base_id: "0",
      concurrency: b.workers,
      config_path: b.configPaths.join(","),
      log_level: envoyLevelName(b.logLevel),
      drain_time: duration(b.drainTimeoutMs),
      drain_strategy: "Immediate",
      mode: "Serve",
      disable_hot_restart: true,
      local_address_ip_version: "v4",
    },
    node: control.envoy?.node ?? nodeJson(b),
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
  };
}
