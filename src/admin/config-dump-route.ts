// `/config_dump`: Envoy's ConfigDump of the serving snapshot, with Envoy's query parameters
// (resource, mask, name_regex, include_eds) and error answers.

import type { AdminState } from "../supervisor/supervisor-api.js";
import { jsonResponse, type AdminRoute } from "./admin-server.js";

export function configDumpRoute(state: AdminState): AdminRoute {
  return {
    path: "/config_dump",
    method: "GET",
    help: "dump current Envoy configs (the serving snapshot in Envoy's ConfigDump shape)",
    params: [
      { name: "resource", help: "The resource to dump (a repeated field, e.g. dynamic_active_clusters)" },
      { name: "mask", help: "The mask to apply (a FieldMask: comma-separated snake_case paths)" },
      { name: "name_regex", help: "Dump only the configurations whose names match the regex (full match)" },
      { name: "include_eds", help: "Dump currently loaded configuration including EDS" },
    ],
    handle: async (req) => {
      const q = req.query;
      let nameRegex: RegExp | undefined;
      const re = q.get("name_regex");
      if (re !== null && re !== "") {
        try {
          nameRegex = new RegExp(`^(?:${re})$`, "u");
        } catch (e) {
          return { status: 400, body: `INVALID_ARGUMENT: Error while parsing name_regex from ${re}: ${(e as Error).message}`, contentType: "text/plain; charset=utf-8" };
        }
      }
      // Loaded at the first dump: it pulls in the proto registry (protobufjs), which start does not need.
      const { buildConfigDump, queryConfigDump } = await import("./config-dump/config-dump.js");
      const dump = buildConfigDump(state.configDump(), { includeEds: q.has("include_eds"), nameRegex });
      const r = queryConfigDump(dump, q.get("resource"), q.get("mask"));
      if ("status" in r) return { status: r.status, body: r.message, contentType: "text/plain; charset=utf-8", headers: { "x-content-type-options": "nosniff" } };
      return jsonResponse(r);
    },
  };
}
