// Envoy stat name → Prometheus family and labels, as an Istio sidecar's Envoy does it: the tag
// regexes of Istio's bootstrap `stats_config.stats_tags` (tools/packaging/common/envoy_bootstrap.json:
// cluster_name, tcp_prefix, response_code, response_code_class, http_conn_manager_listener_prefix,
// http_conn_manager_prefix, listener_address), applied in that order: each match's first group is cut
// out of the name, its second group is the label value. Names of entities the snapshot knows
// (clusters, connection manager and TCP proxy stat prefixes) are matched exactly first, so a
// name that Istio's regexes would cut at the wrong dot still gets its whole value.

interface TagRule {
  tag: string;
  re: RegExp;
}

// Istio's regexes, POSIX classes spelled out for JavaScript.
const ADDRESS = String.raw`(?:[_.0-9]*|[_\[\]a-fA-F0-9]*)`;
const RULES: readonly TagRule[] = [
  { tag: "cluster_name", re: /^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)/ },
  { tag: "tcp_prefix", re: /^tcp\.((.*?)\.)\w+?$/ },
  { tag: "response_code", re: /_rq(_(\d{3}))$/ },
  { tag: "response_code_class", re: /_rq(_(\dxx))$/ },
  { tag: "http_conn_manager_listener_prefix", re: new RegExp(String.raw`^listener(?=\.).*?\.http\.((${ADDRESS})\.)`) },
  { tag: "http_conn_manager_prefix", re: new RegExp(String.raw`^http\.((${ADDRESS})\.)`) },
  { tag: "listener_address", re: new RegExp(String.raw`^listener\.((${ADDRESS})\.)`) },
];

/** The entity names a snapshot defines, by the stat root they appear under. */
export interface KnownStatEntities {
  clusters?: Iterable<string>;
  /** HTTP connection managers' stat_prefix values. */
  httpPrefixes?: Iterable<string>;
  /** TCP proxies' stat_prefix values. */
  tcpPrefixes?: Iterable<string>;
}

export interface ExtractedName {
  /** The Prometheus family name: `envoy_` + the name without its tags, `.` and other invalid characters as `_`. */
  family: string;
  /** Labels in extraction order. */
  labels: [string, string][];
}

const ROOT_TAGS: Record<string, string> = { cluster: "cluster_name", http: "http_conn_manager_prefix", tcp: "tcp_prefix" };

export class EnvoyTagExtractor {
  private readonly known = new Map<string, Set<string>>();

  constructor(entities: KnownStatEntities = {}) {
    this.known.set("cluster", new Set(entities.clusters ?? []));
    this.known.set("http", new Set(entities.httpPrefixes ?? []));
    this.known.set("tcp", new Set(entities.tcpPrefixes ?? []));
  }

  extract(name: string): ExtractedName {
    const labels: [string, string][] = [];
    let rest = name;
    let done: string | undefined;
    const dot = rest.indexOf(".");
    const root = dot === -1 ? "" : rest.slice(0, dot);
    const names = this.known.get(root);
    if (names !== undefined && names.size > 0) {
      // The longest known entity that the name continues with `.`.
      let best: string | undefined;
      for (let i = rest.indexOf(".", dot + 1); i !== -1; i = rest.indexOf(".", i + 1)) {
        const candidate = rest.slice(dot + 1, i);
        if (names.has(candidate)) best = candidate;
      }
      if (best !== undefined) {
        const tag = ROOT_TAGS[root]!;
        labels.push([tag, best]);
        rest = root + "." + rest.slice(dot + 2 + best.length);
        done = tag;
      }
    }
    for (const r of RULES) {
      if (r.tag === done) continue;
      const m = r.re.exec(rest);
      if (m === null) continue;
      const cut = m[1]!;
      const value = m[2] ?? cut;
      // The cut group ends the match, or is followed only by word characters: its last occurrence is it.
      const at = m.index + m[0].lastIndexOf(cut);
      rest = rest.slice(0, at) + rest.slice(at + cut.length);
      labels.push([r.tag, value]);
    }
    return { family: "envoy_" + sanitizeMetricName(rest), labels };
  }
}

/** Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; Envoy turns every other character into `_`. */
export function sanitizeMetricName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** A label value in the text format: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
