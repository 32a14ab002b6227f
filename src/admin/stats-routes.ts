// The stats endpoints: `/stats` (Envoy's text, `?format=json`, `?format=prometheus`) and
// `/stats/prometheus`, with Envoy's `usedonly` and `filter=<RE2>` (a partial match on the stat
// name). Served by the admin API and, for `/stats/prometheus` only, by the stats port (15090).

import { re2js } from "../common/re2.js";
import { EnvoyTagExtractor, type KnownStatEntities } from "../observability/stats/envoy-tag-extractor.js";
import { PROMETHEUS_CONTENT_TYPE, renderEnvoyPrometheus } from "../observability/stats/stats-prometheus.js";
import type { StatsSnapshot } from "../observability/stats/stats-store.js";
import { renderStatsJson, renderStatsText, type StatsView } from "../observability/stats/stats-text.js";
import type { IstioMetricsJson } from "../observability/stats/worker-stats-reply.js";
import type { AdminRequest, AdminResponse, AdminRoute } from "./admin-server.js";

/** Every worker's stats merged, with the supervisor's, at one instant. */
export interface MergedStats {
  envoy: StatsSnapshot;
  /** Each worker's Istio metrics (prom-client JSON), summed by AggregatorRegistry when rendered. */
  istio: IstioMetricsJson[];
  /** Names the snapshot defines, for exact tag extraction. */
  entities: KnownStatEntities;
}

export type StatsProvider = () => Promise<MergedStats>;

const text = "text/plain; charset=utf-8";

/** `usedonly` and `filter` from the query; a bad regex is the caller's error (400). */
function viewOf(req: AdminRequest): StatsView | AdminResponse {
  const view: StatsView = { usedOnly: req.query.has("usedonly") };
  const f = req.query.get("filter");
  if (f !== null && f !== "") {
    let re;
    try {
      re = re2js().compile(f);
    } catch (e) {
      return { status: 400, body: `Invalid re2 regex: ${(e as Error).message}\n`, contentType: text };
    }
    view.filter = (name) => re.matcher(name).find();
  }
  return view;
}

/** Istio's metrics (prom-client's text) then Envoy's stats, as one exposition. */
export async function renderPrometheus(m: MergedStats, view: StatsView): Promise<string> {
  // prom-client loads at the first scrape, not at start (~25 ms of the main thread's start).
  let istio = m.istio.length === 0 ? "" : await (await import("prom-client")).AggregatorRegistry.aggregate(m.istio).metrics();
  if (view.filter !== undefined) istio = filterFamilies(istio, view.filter);
  if (istio !== "" && !istio.endsWith("\n")) istio += "\n";
  return istio + renderEnvoyPrometheus(m.envoy, view, new EnvoyTagExtractor(m.entities));
}

/** Keeps the families of a text exposition whose name passes `keep` (HELP/TYPE lines with them). */
function filterFamilies(exposition: string, keep: (name: string) => boolean): string {
  const out: string[] = [];
  let keeping = false;
  let current = "";
  for (const line of exposition.split("\n")) {
    if (line === "") continue;
    const m = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (m !== null) {
      if (m[1] !== current) {
        current = m[1]!;
        keeping = keep(current);
      }
    }
    if (keeping) out.push(line);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

async function prometheusResponse(stats: StatsProvider, req: AdminRequest): Promise<AdminResponse> {
  const view = viewOf(req);
  if ("status" in view) return view;
  return { status: 200, body: await renderPrometheus(await stats(), view), contentType: PROMETHEUS_CONTENT_TYPE };
}

export function prometheusRoute(stats: StatsProvider): AdminRoute {
  return {
    path: "/stats/prometheus",
    method: "GET",
    help: "Istio's metrics and Envoy's stats in the Prometheus text format, all workers merged (?usedonly, ?filter=<re2>)",
    handle: (req) => prometheusResponse(stats, req),
  };
}

export function statsRoutes(stats: StatsProvider): AdminRoute[] {
  return [
    {
      path: "/stats",
      method: "GET",
      help: "Envoy stats, all workers merged: `name: value` (?usedonly, ?filter=<re2>, ?format=json|prometheus)",
      handle: async (req) => {
        const format = req.query.get("format");
        if (format === "prometheus") return prometheusResponse(stats, req);
        if (format !== null && format !== "json" && format !== "text") {
          return { status: 400, body: `unknown format ${format}; use json, prometheus or text\n`, contentType: text };
        }
        const view = viewOf(req);
        if ("status" in view) return view;
        const m = await stats();
        if (format === "json") return { status: 200, body: renderStatsJson(m.envoy, view), contentType: "application/json" };
        return { status: 200, body: renderStatsText(m.envoy, view), contentType: text };
      },
    },
    prometheusRoute(stats),
  ];
}
