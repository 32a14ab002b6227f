// `/listeners`: Envoy's listener list — text `name::address:port` lines, or `?format=json`
// envoy.admin.v3.Listeners (listener_statuses with local_address).

import type { AdminState } from "../supervisor/supervisor-api.js";
import { jsonResponse, textResponse, type AdminRoute } from "./admin-server.js";

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function listenersRoute(state: AdminState): AdminRoute {
  return {
    path: "/listeners",
    method: "GET",
    help: "print listener info",
    params: [{ name: "format", help: "File format to use; One of (text, json)" }],
    handle: (req) => {
      const f = req.query.get("format");
      if (f !== null && f !== "text" && f !== "json") return textResponse(`invalid format ${JSON.stringify(f)}: use text or json\n`, 400);
      const listeners = state.configDump().snapshot?.listeners ?? [];
      if (f === "json") {
        return jsonResponse({
          listener_statuses: listeners.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } })),
        });
      }
      return textResponse(listeners.map((l) => `${l.name}::${hostPort(l.address, l.port)}\n`).join(""));
    },
  };
}
