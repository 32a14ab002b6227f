// Test helpers: translate inline YAML as if it were one file.
import { parseConfigText } from "../../../src/config/load/load-sources.js";
import { translate, type TranslateOptions, type TranslateResult } from "../../../src/config/istio/translate.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";

export const baseOpts: TranslateOptions = { namespace: "shop", proxyLabels: { app: "web" }, domainSuffix: "cluster.local", defaultOutbound: null };

export function run(yaml: string, opts: Partial<TranslateOptions> = {}, file = "mesh/config.yaml"): TranslateResult & { messages: string[]; warningMessages: string[] } {
  const { documents, errors } = parseConfigText(yaml, file);
  if (errors.length > 0) throw new Error(errors.map(formatConfigError).join("\n"));
  const r = translate(documents, { ...baseOpts, ...opts });
  return { ...r, messages: r.errors.map(formatConfigError), warningMessages: r.warnings.map(formatConfigError) };
}

/** A ServiceEntry as YAML. */
export function se(name: string, ns: string, body: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${body}
---
`;
}

export function doc(kind: string, name: string, ns: string, body: string, apiVersion = "networking.istio.io/v1"): string {
  return `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${body}
---
`;
}

/** reviews in `shop`: 9080/http, STATIC, three versions. */
export const reviewsSE = se(
  "reviews",
  "shop",
  `  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}, locality: us-east/a}
  - {address: 10.0.0.2, labels: {version: v2}, locality: us-east/b, ports: {http: 19082}}
  - {address: 10.0.0.3, labels: {version: v3}, locality: us-east/a, weight: 3}`,
);

/** The security tasks' workload: app=httpbin in foo, inbound HTTP 8080 and TCP 9000 (Sidecar ingress). */
export const httpbinSidecar = doc(
  "Sidecar",
  "default",
  "foo",
  `  ingress:
  - port: {number: 8080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:18080
  - port: {number: 9000, protocol: TCP, name: tcp}
    defaultEndpoint: 127.0.0.1:19000`,
);
export const httpbinOpts = { namespace: "foo", proxyLabels: { app: "httpbin" } };
