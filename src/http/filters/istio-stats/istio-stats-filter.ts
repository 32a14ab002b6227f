// `istio.stats` as an HTTP filter: istiod puts it in every sidecar's filter chain, just before the
// router. Its work happens when the stream ends — the connection manager compiles the filter's
// config into the chain's telemetry and the worker's sink runs the recorder — so it creates no
// per-request filter (no allocation, no call on the request path).

import { ISTIO_STATS_FILTER } from "../../../config/model/types.js";
import type { HttpFilterFactory } from "../http-filter.js";

export const istioStatsFilterFactory: HttpFilterFactory = {
  name: ISTIO_STATS_FILTER,
  create: () => undefined,
};
