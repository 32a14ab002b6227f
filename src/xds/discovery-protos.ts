// The discovery service protos (ADS: StreamAggregatedResources / DeltaAggregatedResources; SDS:
// StreamSecrets) loaded by @grpc/proto-loader from the Envoy proto tree that @grpc/grpc-js-xds
// ships. Loaded with keepCase, so every message is in proto field names (snake_case), and
// resources stay google.protobuf.Any {type_url, value: bytes}: the injected ResourceCodec decodes
// them, never this module.
//
// The loaded definition is immutable and costs ~200 ms, so it is cached per process (lazily, on
// the first client or fake server that needs it) — the one documented exception to "no
// module-level state".

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Where the Envoy, xds, googleapis and validate protos live (the grpc-js-xds package's deps). */
export function envoyProtoIncludeDirs(): string[] {
  const req = createRequire(import.meta.url);
  const root = join(dirname(req.resolve("@grpc/grpc-js-xds/package.json")), "deps");
  return ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(root, d));
}

export interface DiscoveryServices {
  /** envoy.service.discovery.v3.AggregatedDiscoveryService client constructor. */
  Ads: grpc.ServiceClientConstructor;
  /** envoy.service.secret.v3.SecretDiscoveryService client constructor. */
  Sds: grpc.ServiceClientConstructor;
}

let cached: DiscoveryServices | undefined;

/** The two services (cached per process: an immutable proto definition). */
export function discoveryServices(): DiscoveryServices {
  if (cached !== undefined) return cached;
  const def = protoLoader.loadSync(["envoy/service/discovery/v3/ads.proto", "envoy/service/secret/v3/sds.proto"], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: false,
    includeDirs: envoyProtoIncludeDirs(),
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: {
      service: {
        discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } };
        secret: { v3: { SecretDiscoveryService: grpc.ServiceClientConstructor } };
      };
    };
  };
  cached = { Ads: pkg.envoy.service.discovery.v3.AggregatedDiscoveryService, Sds: pkg.envoy.service.secret.v3.SecretDiscoveryService };
  return cached;
}

/** google.protobuf.Any as proto-loader hands it over without `json: true`. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** google.rpc.Status (a request's error_detail). */
export interface StatusMessage {
  code?: number;
  message?: string;
}

/** envoy.service.discovery.v3.DiscoveryRequest (the node in proto-loader's Struct form). */
export interface DiscoveryRequestMessage {
  version_info?: string;
  node?: Record<string, unknown>;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: StatusMessage;
}

export interface DiscoveryResponseMessage {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
}

export interface DeltaDiscoveryRequestMessage {
  node?: Record<string, unknown>;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: StatusMessage;
}

export interface DeltaResourceMessage {
  name?: string;
  version?: string;
  resource?: AnyMessage;
  aliases?: string[];
}

export interface DeltaDiscoveryResponseMessage {
  system_version_info?: string;
  resources?: DeltaResourceMessage[];
  type_url?: string;
  removed_resources?: string[];
  nonce?: string;
}

/** gRPC status code INVALID_ARGUMENT: what Envoy puts in a NACK's error_detail. */
export const INVALID_ARGUMENT = 3;
