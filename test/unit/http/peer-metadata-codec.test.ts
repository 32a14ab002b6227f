// The x-envoy-peer-metadata codec: a real header sent by an Istio sidecar (istio/proxy's
// peer_metadata filter_test.cc SampleIstioHeader, a productpage pod's full node metadata) decoded
// field by field and re-encoded byte for byte; what Outrigger sends; malformed values.

import { describe, expect, it } from "vitest";
import { decodePeerMetadata, encodePeerMetadata } from "../../../src/http/filters/peer-metadata/peer-metadata-codec.js";
import { decodeStruct, encodeStruct, StructDecodeError, type PbStruct } from "../../../src/http/filters/peer-metadata/protobuf-struct.js";
import { nodeIdentity } from "../../../src/observability/node-identity.js";

// Envoy's sample (Istio 1.5-era node metadata, no base64 padding), from istio/proxy
// source/extensions/filters/http/peer_metadata/filter_test.cc.
const SAMPLE_ISTIO_HEADER =
  "ChIKBWlzdGlvEgkaB3NpZGVjYXIKDgoIU1RTX1BPUlQSAhoAChEKB01FU0hfSUQSBhoEbWVzaAocChZTVEFDS0RSSVZFUl" +
  "9UT0tFTl9GSUxFEgIaAAowCihTVEFDS0RSSVZFUl9MT0dHSU5HX0VYUE9SVF9JTlRFUlZBTF9TRUNTEgQaAjIwCjYKDElO" +
  "U1RBTkNFX0lQUxImGiQxMC41Mi4wLjM0LGZlODA6OmEwNzU6MTFmZjpmZTVlOmYxY2QKFAoDYXBwEg0aC3Byb2R1Y3RwYW" +
  "dlCisKG1NFQ1VSRV9TVEFDS0RSSVZFUl9FTkRQT0lOVBIMGgpsb2NhbGhvc3Q6Cl0KGmt1YmVybmV0ZXMuaW8vbGltaXQt" +
  "cmFuZ2VyEj8aPUxpbWl0UmFuZ2VyIHBsdWdpbiBzZXQ6IGNwdSByZXF1ZXN0IGZvciBjb250YWluZXIgcHJvZHVjdHBhZ2" +
  "UKIQoNV09SS0xPQURfTkFNRRIQGg5wcm9kdWN0cGFnZS12MQofChFJTlRFUkNFUFRJT05fTU9ERRIKGghSRURJUkVDVAoe" +
  "CgpDTFVTVEVSX0lEEhAaDmNsaWVudC1jbHVzdGVyCkkKD0lTVElPX1BST1hZX1NIQRI2GjRpc3Rpby1wcm94eTo0N2U0NT" +
  "U5YjhlNGYwZDUxNmMwZDE3YjIzM2QxMjdhM2RlYjNkN2NlClIKBU9XTkVSEkkaR2t1YmVybmV0ZXM6Ly9hcGlzL2FwcHMv" +
  "djEvbmFtZXNwYWNlcy9kZWZhdWx0L2RlcGxveW1lbnRzL3Byb2R1Y3RwYWdlLXYxCsEBCgZMQUJFTFMStgEqswEKFAoDYX" +
  "BwEg0aC3Byb2R1Y3RwYWdlCiEKEXBvZC10ZW1wbGF0ZS1oYXNoEgwaCjg0OTc1YmM3NzgKMwofc2VydmljZS5pc3Rpby5p" +
  "by9jYW5vbmljYWwtbmFtZRIQGg5wcm9kdWN0cGFnZS12MQoyCiNzZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1yZXZpc2" +
  "lvbhILGgl2ZXJzaW9uLTEKDwoHdmVyc2lvbhIEGgJ2MQopCgROQU1FEiEaH3Byb2R1Y3RwYWdlLXYxLTg0OTc1YmM3Nzgt" +
  "cHh6MncKLQoIUE9EX05BTUUSIRofcHJvZHVjdHBhZ2UtdjEtODQ5NzViYzc3OC1weHoydwoaCg1JU1RJT19WRVJTSU9OEg" +
  "kaBzEuNS1kZXYKHwoVSU5DTFVERV9JTkJPVU5EX1BPUlRTEgYaBDkwODAKmwEKEVBMQVRGT1JNX01FVEFEQVRBEoUBKoIB" +
  "CiYKFGdjcF9na2VfY2x1c3Rlcl9uYW1lEg4aDHRlc3QtY2x1c3RlcgocCgxnY3BfbG9jYXRpb24SDBoKdXMtZWFzdDQtYg" +
  "odCgtnY3BfcHJvamVjdBIOGgx0ZXN0LXByb2plY3QKGwoSZ2NwX3Byb2plY3RfbnVtYmVyEgUaAzEyMwopCg9TRVJWSUNF" +
  "X0FDQ09VTlQSFhoUYm9va2luZm8tcHJvZHVjdHBhZ2UKHQoQQ09ORklHX05BTUVTUEFDRRIJGgdkZWZhdWx0Cg8KB3Zlcn" +
  "Npb24SBBoCdjEKHgoYU1RBQ0tEUklWRVJfUk9PVF9DQV9GSUxFEgIaAAohChFwb2QtdGVtcGxhdGUtaGFzaBIMGgo4NDk3" +
  "NWJjNzc4Ch8KDkFQUF9DT05UQUlORVJTEg0aC3Rlc3QsYm9uemFpChYKCU5BTUVTUEFDRRIJGgdkZWZhdWx0CjMKK1NUQU" +
  "NLRFJJVkVSX01PTklUT1JJTkdfRVhQT1JUX0lOVEVSVkFMX1NFQ1MSBBoCMjA";

const str = (s: PbStruct, k: string): unknown => {
  const v = s.get(k);
  return v?.kind === "string" ? v.value : v;
};

describe("x-envoy-peer-metadata from a real Istio sidecar", () => {
  const bytes = Buffer.from(SAMPLE_ISTIO_HEADER, "base64");

  it("decodes every field of the node metadata Struct, nested structs included", () => {
    const s = decodeStruct(bytes);
    expect([...s.keys()]).toEqual([
      "istio", "STS_PORT", "MESH_ID", "STACKDRIVER_TOKEN_FILE", "STACKDRIVER_LOGGING_EXPORT_INTERVAL_SECS", "INSTANCE_IPS", "app",
      "SECURE_STACKDRIVER_ENDPOINT", "kubernetes.io/limit-ranger", "WORKLOAD_NAME", "INTERCEPTION_MODE", "CLUSTER_ID", "ISTIO_PROXY_SHA",
      "OWNER", "LABELS", "NAME", "POD_NAME", "ISTIO_VERSION", "INCLUDE_INBOUND_PORTS", "PLATFORM_METADATA", "SERVICE_ACCOUNT",
      "CONFIG_NAMESPACE", "version", "STACKDRIVER_ROOT_CA_FILE", "pod-template-hash", "APP_CONTAINERS", "NAMESPACE", "STACKDRIVER_MONITORING_EXPORT_INTERVAL_SECS",
    ]);
    expect(str(s, "MESH_ID")).toBe("mesh");
    expect(str(s, "CLUSTER_ID")).toBe("client-cluster");
    expect(str(s, "INSTANCE_IPS")).toBe("10.52.0.34,fe80::a075:11ff:fe5e:f1cd");
    expect(str(s, "OWNER")).toBe("kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1");
    expect(str(s, "STS_PORT")).toBe("");
    const labels = s.get("LABELS");
    expect(labels?.kind).toBe("struct");
    if (labels?.kind !== "struct") return;
    expect(Object.fromEntries([...labels.value].map(([k, v]) => [k, v.kind === "string" ? v.value : v]))).toEqual({
      app: "productpage",
      "pod-template-hash": "84975bc778",
      "service.istio.io/canonical-name": "productpage-v1",
      "service.istio.io/canonical-revision": "version-1",
      version: "v1",
    });
    const platform = s.get("PLATFORM_METADATA");
    expect(platform?.kind === "struct" && str(platform.value, "gcp_project_number")).toBe("123");
  });

  it("re-encodes to the same bytes (field order kept)", () => {
    expect(encodeStruct(decodeStruct(bytes)).equals(bytes)).toBe(true);
  });

  it("becomes the peer workload istio.stats labels come from", () => {
    expect(decodePeerMetadata(SAMPLE_ISTIO_HEADER)).toEqual({
      instanceName: "productpage-v1-84975bc778-pxz2w",
      workloadName: "productpage-v1",
      namespace: "default",
      clusterId: "client-cluster",
      meshId: "mesh",
      labels: { app: "productpage", "pod-template-hash": "84975bc778", "service.istio.io/canonical-name": "productpage-v1", "service.istio.io/canonical-revision": "version-1", version: "v1" },
    });
  });
});

describe("what Outrigger sends", () => {
  const node = nodeIdentity({
    env: { POD_NAME: "reviews-v2-7d4f8b-x2k9z", INSTANCE_IP: "10.0.0.7", ISTIO_META_CLUSTER_ID: "east" },
    namespace: "shop",
    labels: { app: "reviews", version: "v2", team: "a" },
    domainSuffix: "cluster.local",
  });

  it("is Istio's current form: NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID and four LABELS, keys sorted (deterministic serialization)", () => {
    const s = decodeStruct(Buffer.from(encodePeerMetadata(node), "base64"));
    expect([...s.keys()]).toEqual(["CLUSTER_ID", "LABELS", "NAME", "NAMESPACE", "WORKLOAD_NAME"]);
    expect(decodePeerMetadata(encodePeerMetadata(node))).toEqual({
      instanceName: "reviews-v2-7d4f8b-x2k9z",
      workloadName: "reviews-v2",
      namespace: "shop",
      clusterId: "east",
      meshId: "",
      labels: { app: "reviews", "service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v2", version: "v2" },
    });
  });

  it("is standard padded base64", () => {
    expect(encodePeerMetadata(node)).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(encodePeerMetadata(node).length % 4).toBe(0);
  });
});

describe("malformed peer metadata is refused, never a crash", () => {
  it.each([
    ["not base64", "%%%not-base64%%%"],
    ["a truncated length", Buffer.from([0x0a, 0x20, 0x0a]).toString("base64")],
    ["a varint running off the end", Buffer.from([0x0a, 0xff, 0xff]).toString("base64")],
    ["an unsupported wire type", Buffer.from([0x0f]).toString("base64")],
    ["a truncated double", Buffer.from([0x0a, 0x07, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x11, 0x00]).toString("base64")],
    ["invalid UTF-8 in a key", Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28]).toString("base64")],
    ["a base64 length that cannot be", "QUJDR"],
  ])("%s", (_why, value) => {
    expect(() => decodePeerMetadata(value)).toThrow();
  });

  it("bounds nesting depth", () => {
    // struct { "a": { struct_value: { "a": … } } }: 40 levels decode past the bound of 32.
    let cur: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 40; i++) {
      const value = encodeLen(0x2a, cur);
      cur = encodeLen(0x0a, Buffer.concat([Buffer.from([0x0a, 0x01, 0x61]), encodeLen(0x12, value)]));
    }
    expect(() => decodeStruct(cur)).toThrow(StructDecodeError);
    expect(() => decodePeerMetadata(cur.toString("base64"))).toThrow(StructDecodeError);
  });

  it("decodes every Value kind (numbers, bools, null, lists) and skips unknown fields", () => {
    const s: PbStruct = new Map([
      ["n", { kind: "number", value: 1.5 }],
      ["b", { kind: "bool", value: true }],
      ["z", { kind: "null" }],
      ["l", { kind: "list", value: [{ kind: "string", value: "x" }, { kind: "number", value: -2 }] }],
    ]);
    const bytes = Buffer.concat([encodeStruct(s), Buffer.from([0x10, 0x05])]); // + unknown varint field 2
    expect(decodeStruct(bytes)).toEqual(s);
  });
});

function encodeLen(tag: number, payload: Buffer): Buffer {
  const len: number[] = [];
  let n = payload.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([tag, ...len]), payload]);
}
