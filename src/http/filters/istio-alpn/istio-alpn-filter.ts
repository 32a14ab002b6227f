// `istio.alpn` as an HTTP filter: istiod puts it in outbound HTTP chains so that Envoy's upstream
// mTLS offers `istio-http/1.1` / `istio-h2` (the ALPN values a peer sidecar's filter chains match
// on). Outrigger's upstream TLS for ISTIO_MUTUAL already offers those lists per upstream protocol,
// so the filter has nothing to do per request: it creates no per-request filter.

import { ISTIO_ALPN_FILTER } from "../../../config/model/types.js";
import type { HttpFilterFactory } from "../http-filter.js";

export const istioAlpnFilterFactory: HttpFilterFactory = {
  name: ISTIO_ALPN_FILTER,
  create: () => undefined,
};
