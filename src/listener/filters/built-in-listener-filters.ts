// builtInListenerFilters: the listener filters every worker knows — original_dst, tls_inspector
// and http_inspector — in a fresh registry (one per worker; tests add their own to it).

import { HTTP_INSPECTOR, ListenerFilterRegistry, ORIGINAL_DST, TLS_INSPECTOR } from "../listener-filter.js";
import type { OriginalDstResolver } from "../original-dst/original-dst-resolver.js";
import { HttpInspector } from "./http-inspector.js";
import { OriginalDstFilter } from "./original-dst-filter.js";
import { TlsInspector } from "./tls-inspector.js";

export function builtInListenerFilters(originalDst: OriginalDstResolver): ListenerFilterRegistry {
  const r = new ListenerFilterRegistry();
  r.register({ name: ORIGINAL_DST, create: (_c, listener) => new OriginalDstFilter(originalDst, listener.transparent === true) });
  // The inspectors keep no per-listener state: one instance serves every listener.
  const tls = new TlsInspector();
  const http = new HttpInspector();
  r.register({ name: TLS_INSPECTOR, create: () => tls });
  r.register({ name: HTTP_INSPECTOR, create: () => http });
  return r;
}
