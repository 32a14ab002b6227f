// `/explain`: which listener, route and cluster a request would take on the serving snapshot, and
// why (see src/router/explain.ts). Beyond Envoy; text by default, `?format=json`.

import { explainQuery } from "../router/explain-query.js";
import { formatExplanation } from "../router/explain-text.js";
import { explainRequest, isExplainError } from "../router/explain.js";
import type { AdminState } from "../supervisor/supervisor-api.js";
import { jsonResponse, textResponse, type AdminRoute } from "./admin-server.js";

export function explainRoute(state: AdminState): AdminRoute {
  return {
    path: "/explain",
    method: "GET",
    help: "explain which listener, route and cluster a request takes, and why the others did not match",
    params: [
      { name: "authority", help: "Host / :authority of the request (required), e.g. reviews:9080" },
      { name: "method", help: "request method (default GET)" },
      { name: "path", help: "request path with query string (default /)" },
      { name: "header", help: "a request header as name:value (repeatable)" },
      { name: "port", help: "destination port (default: the authority's port, else 80)" },
      { name: "listener", help: "a listener by name (instead of the port)" },
      { name: "format", help: "File format to use; One of (text, json)" },
    ],
    handle: (req) => {
      const q = explainQuery((n) => req.query.get(n) ?? undefined, (n) => req.query.getAll(n));
      if (typeof q === "string") return textResponse(`${q}\nusage: /explain?authority=<host[:port]>&method=GET&path=/x&header=name:value&port=<n>&listener=<name>&format=text|json\n`, 400);
      const snapshot = state.configDump().snapshot;
      if (snapshot === null) return textResponse("no configuration yet\n", 503);
      try {
        const x = explainRequest(snapshot, q.request);
        return q.format === "json" ? jsonResponse(x) : textResponse(formatExplanation(x));
      } catch (e) {
        if (isExplainError(e)) return textResponse(e.message + "\n", 404);
        throw e;
      }
    },
  };
}
