// RequestView: the read-only slice of a downstream request that route matching, rewrites and
// redirects look at. The connection manager builds one per request; nothing here does I/O.

import type { HeaderList } from "../http/header-list.js";

export interface RequestView {
  /** As sent, e.g. "GET". */
  method: string;
  /** Request target path incl. query string, e.g. "/a/b?x=1" (origin-form). */
  path: string;
  /** Host header / :authority value as sent (may include port), e.g. "Reviews:9080". */
  authority: string;
  scheme: "http" | "https";
  /** Lower-case lookup via get/getJoined. */
  headers: HeaderList;
}
