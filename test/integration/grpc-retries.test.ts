// retryOn's gRPC conditions as Envoy reads them: from the grpc-status of the response headers (a
// trailers-only answer), over real sockets.

import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function retries(retryOn: string[], extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return { retryOn, numRetries: 2, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 0, backoffBaseMs: 1, backoffMaxMs: 2, ...extra };
}

/** An upstream answering its n-th request with `answers[n]` (the last one repeats). */
async function scripted(answers: string[]): Promise<RawUpstream & { count: () => number; heads: string[] }> {
  let n = 0;
  const heads: string[] = [];
  const u = await startRawUpstream((s: Socket) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const i = buf.indexOf("\r\n\r\n");
        if (i === -1) return;
        const cl = /content-length:\s*(\d+)/i.exec(buf.slice(0, i));
        const end = i + 4 + (cl === null ? 0 : Number(cl[1]));
        if (buf.length < end) return;
        heads.push(buf.slice(0, i).toLowerCase());
        buf = buf.slice(end);
        s.write(answers[Math.min(n, answers.length - 1)]!);
        n++;
      }
    });
  });
  cleanups.push(() => u.close());
  return Object.assign(u, { count: () => n, heads });
}

const trailersOnly = (code: number): string => `HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: ${code}\r\ngrpc-message: try%20again\r\ncontent-length: 0\r\n\r\n`;
const OK = "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 0\r\ncontent-length: 0\r\n\r\n";

async function proxyWith(port: number, policy: RetryPolicy | undefined): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...(policy !== undefined ? { retryPolicy: policy } : {}) } })] }], [cluster("c", [port])]);
  proxy = await startProxy(snap);
  return proxy;
}

async function call(p: TestProxy, extra = ""): Promise<Record<string, string>> {
  const out = await rawExchange(p.port, `POST /pkg.Svc/Call HTTP/1.1\r\nhost: svc\r\ncontent-type: application/grpc\r\nte: trailers\r\n${extra}content-length: 5\r\n\r\n\x00\x00\x00\x00\x00`, { responses: 1 });
  return parseResponses(out)[0]!.headers;
}

describe("gRPC retry conditions", () => {
  it("unavailable: a trailers-only UNAVAILABLE is retried, and the next answer passes", async () => {
    const u = await scripted([trailersOnly(14), OK]);
    const p = await proxyWith(u.port, retries(["unavailable"]));
    const h = await call(p);
    expect(h["grpc-status"]).toBe("0");
    expect(u.count()).toBe(2);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.attemptCount).toBe(2);
  });

  it.each([
    ["cancelled", 1],
    ["deadline-exceeded", 4],
    ["resource-exhausted", 8],
    ["internal", 13],
  ])("%s retries grpc-status %i", async (on, code) => {
    const u = await scripted([trailersOnly(code), OK]);
    const p = await proxyWith(u.port, retries([on]));
    expect((await call(p))["grpc-status"]).toBe("0");
    expect(u.count()).toBe(2);
  });

  it("a code retryOn does not name is returned as is", async () => {
    const u = await scripted([trailersOnly(13), OK]);
    const p = await proxyWith(u.port, retries(["unavailable", "cancelled"]));
    expect((await call(p))["grpc-status"]).toBe("13");
    expect(u.count()).toBe(1);
  });

  it("when retries run out, the last trailers-only answer goes back with URX", async () => {
    const u = await scripted([trailersOnly(14)]);
    const p = await proxyWith(u.port, retries(["unavailable"], { numRetries: 2 }));
    const h = await call(p);
    expect(h["grpc-status"]).toBe("14");
    expect(h["grpc-message"]).toBe("try%20again");
    expect(u.count()).toBe(3);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["URX"]);
  });

  it("retriable-status-codes looks at the HTTP status (200), not the gRPC code", async () => {
    const u = await scripted([trailersOnly(14), OK]);
    const p = await proxyWith(u.port, retries(["retriable-status-codes"], { retriableStatusCodes: [503, 14] }));
    expect((await call(p))["grpc-status"]).toBe("14");
    expect(u.count()).toBe(1);
  });

  it("x-envoy-retry-grpc-on asks for retries on a route without a policy (Envoy's one retry), and never goes upstream", async () => {
    const u = await scripted([trailersOnly(14), trailersOnly(14), OK]);
    const p = await proxyWith(u.port, undefined);
    expect((await call(p, "x-envoy-retry-grpc-on: unavailable\r\n"))["grpc-status"]).toBe("14");
    expect(u.count()).toBe(2);
    for (const h of u.heads) expect(h).not.toContain("x-envoy-retry-grpc-on");
  });

  it("x-envoy-max-retries sets the count; the headers add to the route's conditions", async () => {
    const u = await scripted([trailersOnly(8), trailersOnly(8), trailersOnly(8), OK]);
    const p = await proxyWith(u.port, retries(["unavailable"], { numRetries: 1 }));
    expect((await call(p, "x-envoy-retry-grpc-on: resource-exhausted\r\nx-envoy-max-retries: 3\r\n"))["grpc-status"]).toBe("0");
    expect(u.count()).toBe(4);
    for (const h of u.heads) expect(h).not.toContain("x-envoy-max-retries");
  });

  it("without a retry header and without a policy, nothing is retried", async () => {
    const u = await scripted([trailersOnly(14), OK]);
    const p = await proxyWith(u.port, undefined);
    expect((await call(p, "x-envoy-max-retries: 3\r\n"))["grpc-status"]).toBe("14");
    expect(u.count()).toBe(1);
  });
});
