// explain on inbound chains with AuthorizationPolicy: which RBAC filter and policy allows or
// denies a request (or a TCP connection), for a plaintext or an mTLS peer.

import { describe, expect, it } from "vitest";
import type { Snapshot } from "../../../src/config/model/types.js";
import { explainQuery } from "../../../src/router/explain-query.js";
import { formatExplanation } from "../../../src/router/explain-text.js";
import { explainRequest } from "../../../src/router/explain.js";
import { doc, run } from "../config/helpers.js";

const yaml =
  doc("Sidecar", "default", "foo", "  ingress:\n  - port: {number: 8080, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:18080\n  - port: {number: 9000, protocol: TCP, name: tcp}\n    defaultEndpoint: 127.0.0.1:19000") +
  doc("AuthorizationPolicy", "deny-admin", "foo", "  action: DENY\n  rules: [{to: [{operation: {paths: ['/admin*']}}]}]", "security.istio.io/v1") +
  doc("AuthorizationPolicy", "allow-sleep", "foo", "  rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/sleep]}}]}]", "security.istio.io/v1");
const snap = (): Snapshot => {
  const r = run(yaml, { namespace: "foo", proxyLabels: { app: "x" } });
  expect(r.messages).toEqual([]);
  return { version: "t", ...r.snapshot };
};

describe("explain: authorization", () => {
  it("names the DENY policy that answers 403, and keeps the route it would have taken", () => {
    const x = explainRequest(snap(), { authority: "x:8080", path: "/admin/a", port: 8080, principal: "cluster.local/ns/default/sa/sleep" });
    expect(x.authorization).toEqual({
      steps: [{ filter: "envoy.filters.http.rbac", action: "DENY", matchedPolicy: "ns[foo]-policy[deny-admin]-rule[0]", result: "denied" }],
      denied: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]",
    });
    expect(x.outcome).toMatch(/^denied by authorization: 403 RBAC: access denied \(rbac_access_denied_matched_policy\[ns\[foo\]-policy\[deny-admin\]-rule\[0\]\]\); the route would have been: /);
    const text = formatExplanation(x);
    expect(text).toContain("authorization (RBAC filters in order):\n  ✘ envoy.filters.http.rbac DENY: denied by ns[foo]-policy[deny-admin]-rule[0]\n");
  });

  it("an mTLS peer that an ALLOW policy names is allowed; a plaintext one is denied with [none]", () => {
    const ok = explainRequest(snap(), { authority: "x:8080", path: "/", port: 8080, principal: "cluster.local/ns/default/sa/sleep" });
    expect(ok.authorization!.steps.map((s) => `${s.action} ${s.result} ${s.matchedPolicy}`)).toEqual(["DENY allowed null", "ALLOW allowed ns[foo]-policy[allow-sleep]-rule[0]"]);
    expect(ok.authorization!.denied).toBeUndefined();
    expect(ok.outcome).not.toContain("denied");
    const plain = explainRequest(snap(), { authority: "x:8080", path: "/", port: 8080 });
    expect(plain.authorization!.denied).toBe("rbac_access_denied_matched_policy[none]");
    expect(formatExplanation(plain)).toContain("  ✘ envoy.filters.http.rbac ALLOW: denied (no policy matches)");
  });

  it("TCP chains: the network RBAC decision; a DENY rule of only HTTP fields denies the whole port there, as istiod builds it", () => {
    const x = explainRequest(snap(), { authority: "x:9000", port: 9000, principal: "cluster.local/ns/default/sa/sleep" });
    expect(x.tcp).toBeDefined();
    expect(x.authorization!.steps.map((s) => `${s.filter} ${s.action} ${s.result} ${s.matchedPolicy}`)).toEqual(["envoy.filters.network.rbac DENY denied ns[foo]-policy[deny-admin]-rule[0]"]);
    expect(x.outcome).toBe("denied by authorization (rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]): the connection is closed");
  });

  it("the principal parameter: passed through, and an empty one is refused", () => {
    const q = (p: Record<string, string>) => explainQuery((n) => p[n], () => []);
    expect(q({ authority: "a", principal: "cluster.local/ns/a/sa/b" })).toMatchObject({ request: { principal: "cluster.local/ns/a/sa/b" } });
    expect(q({ authority: "a", principal: "" })).toBe('principal "": expected a SPIFFE identity such as cluster.local/ns/default/sa/sleep');
  });
});
