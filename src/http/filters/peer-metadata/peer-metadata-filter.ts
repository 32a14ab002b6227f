// istio.metadata_exchange (istio/proxy peer_metadata filter, as istiod configures it for
// sidecars). Outbound: our identity goes to the upstream on the request
// (upstream_propagation istio_headers); the upstream's comes back on the response, becomes the
// stream's peer, and is removed before the client sees it (upstream_discovery). Inbound: the
// client's identity is read from the request and removed before the app sees it
// (downstream_discovery); ours goes back on the response only when the client sent its own
// (downstream_propagation). Decoded peers are cached by id, as Istio does.

import { ISTIO_METADATA_EXCHANGE_FILTER } from "../../../config/model/types.js";
import { nodeIdentity, type NodeIdentity } from "../../../observability/node-identity.js";
import type { WorkloadMetadata } from "../../../observability/workload-metadata.js";
import type { HeaderList } from "../../header-list.js";
import type { RequestHeaders, ResponseHeaders } from "../../http-message.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "../http-filter.js";
import { decodePeerMetadata, encodePeerMetadata, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from "./peer-metadata-codec.js";

/** Envoy stat (Outrigger's own name) counting peer metadata that could not be decoded. */
export const PEER_METADATA_DECODE_ERRORS = "metadata_exchange.http.decode_error";

/** 500: istio/proxy's max_peer_cache_size; past it the oldest quarter is evicted. */
const MAX_PEER_CACHE = 500;

/** One per worker: our header values (computed once) and the cache of decoded peers. */
export class PeerMetadataExchange {
  readonly id: string;
  readonly value: string;
  private readonly cache = new Map<string, WorkloadMetadata>();

  constructor(node: NodeIdentity) {
    this.id = node.nodeId;
    this.value = encodePeerMetadata(node);
  }

  /** The peer from its headers; undefined when absent or malformed (malformed is counted). */
  lookup(cb: FilterCallbacks, id: string | undefined, value: string): WorkloadMetadata | undefined {
    const key = id === undefined || id === "" ? undefined : id;
    if (key !== undefined) {
      const hit = this.cache.get(key);
      if (hit !== undefined) return hit;
    }
    let peer: WorkloadMetadata;
    try {
      peer = decodePeerMetadata(value);
    } catch {
      cb.services.stats.counter(PEER_METADATA_DECODE_ERRORS).inc();
      return undefined;
    }
    if (key !== undefined) {
      if (this.cache.size >= MAX_PEER_CACHE) {
        let n = MAX_PEER_CACHE / 4;
        for (const k of this.cache.keys()) {
          if (n-- <= 0) break;
          this.cache.delete(k);
        }
      }
      this.cache.set(key, peer);
    }
    return peer;
  }
}

export class PeerMetadataFilter implements HttpFilter {
  /** Inbound: whether the client sent its id / metadata (ours goes back only then). */
  private requestHadId = false;
  private requestHadValue = false;

  constructor(
    private readonly cb: FilterCallbacks,
    private readonly mx: PeerMetadataExchange,
  ) {}

  decodeHeaders(req: RequestHeaders): FilterStatus {
    const h = req.headers;
    if (this.cb.inbound) {
      const id = h.get(PEER_METADATA_ID_HEADER);
      const value = h.get(PEER_METADATA_HEADER);
      this.requestHadId = id !== undefined;
      this.requestHadValue = value !== undefined;
      if (value !== undefined && value !== "") this.discover(id, value);
      removeExchangeHeaders(h);
    } else {
      h.set(PEER_METADATA_ID_HEADER, this.mx.id);
      h.set(PEER_METADATA_HEADER, this.mx.value);
    }
    return FilterStatus.Continue;
  }

  encodeHeaders(res: ResponseHeaders): FilterStatus {
    const h = res.headers;
    if (this.cb.inbound) {
      if (this.requestHadId) h.set(PEER_METADATA_ID_HEADER, this.mx.id);
      if (this.requestHadValue) h.set(PEER_METADATA_HEADER, this.mx.value);
    } else {
      const value = h.get(PEER_METADATA_HEADER);
      if (value !== undefined && value !== "") this.discover(h.get(PEER_METADATA_ID_HEADER), value);
      removeExchangeHeaders(h);
    }
    return FilterStatus.Continue;
  }

  private discover(id: string | undefined, value: string): void {
    const si = this.cb.streamInfo;
    // The first peer found wins (Istio: "Duplicate peer metadata, skipping").
    if (si.peer !== undefined) return;
    si.peer = this.mx.lookup(this.cb, id, value);
  }
}

function removeExchangeHeaders(h: HeaderList): void {
  h.remove(PEER_METADATA_ID_HEADER);
  h.remove(PEER_METADATA_HEADER);
}

/** A standalone identity for runtimes built without one (tests, tools): the defaults istio-agent would use. */
function standaloneNode(): NodeIdentity {
  return nodeIdentity({ env: {}, namespace: "default", labels: {}, domainSuffix: "cluster.local" });
}

export function peerMetadataFilterFactory(node: NodeIdentity = standaloneNode()): HttpFilterFactory {
  const mx = new PeerMetadataExchange(node);
  return {
    name: ISTIO_METADATA_EXCHANGE_FILTER,
    create: (cb) => new PeerMetadataFilter(cb, mx),
  };
}
