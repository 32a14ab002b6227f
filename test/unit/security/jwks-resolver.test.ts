// JwksResolver against a local HTTP JWKS endpoint: first lookup pending then keys and a change
// notification, failures (status, bad JSON, no usable key, oversize, timeout) kept pending with
// the reason and retried, rotation noticed on refresh, last good keys kept when a refresh fails.

import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { JwksResolver } from "../../../src/security/jwks/jwks-resolver.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const JWKS = readFileSync(sharedPath("istio-samples", "istio", "security", "tools", "jwt", "samples", "jwks.json"), "utf8");

interface JwksServer {
  url: string;
  hits: number;
  reply: (res: ServerResponse) => void;
  server: Server;
}

async function jwksServer(reply: (res: ServerResponse) => void): Promise<JwksServer> {
  const s: JwksServer = { url: "", hits: 0, reply, server: undefined as unknown as Server };
  s.server = createServer((_req, res) => {
    s.hits++;
    s.reply(res);
  });
  await new Promise<void>((r) => s.server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/jwks.json`;
  return s;
}

const json = (body: string, status = 200) => (res: ServerResponse) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body);
};

/** Resolves on the resolver's next change notification. */
function changes(): { onChange: () => void; next: () => Promise<void> } {
  let waiters: Array<() => void> = [];
  return {
    onChange: () => {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    next: () => new Promise<void>((r) => waiters.push(r)),
  };
}

/** Waits for a log line matching `re` (the resolver logs each fetch outcome). */
function onLog(): { log: ReturnType<typeof createLogger>; until: (re: RegExp) => Promise<string> } {
  const lines: string[] = [];
  let waiters: Array<() => void> = [];
  const log = createLogger("debug", "t", (l) => {
    lines.push(l);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  const until = async (re: RegExp): Promise<string> => {
    for (;;) {
      const hit = lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { log, until };
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe("JwksResolver", () => {
  it("first lookup is pending, the fetched keys come with a change notification, then are served from cache", async () => {
    const srv = await jwksServer(json(JWKS));
    const c = changes();
    const r = new JwksResolver({ onChange: c.onChange, log: createLogger("off") });
    cleanup.push(() => r.close(), () => srv.server.close());
    const changed = c.next();
    expect(r.lookup(srv.url, 1000)).toEqual({ pending: "first fetch in progress" });
    await changed;
    expect(r.lookup(srv.url, 1000)).toEqual({ jwks: JWKS });
    expect(srv.hits).toBe(1);
  });

  it("a failing fetch stays pending with its reason and is retried with back-off until it succeeds", async () => {
    const srv = await jwksServer(json("oops", 500));
    const c = changes();
    const { log, until } = onLog();
    const r = new JwksResolver({ onChange: c.onChange, log, retryBaseMs: 5 });
    cleanup.push(() => r.close(), () => srv.server.close());
    r.lookup(srv.url, 1000);
    await until(/HTTP status 500/);
    expect(r.lookup(srv.url, 1000)).toEqual({ pending: "fetch failed: HTTP status 500" });
    const changed = c.next();
    srv.reply = json(JWKS);
    await changed;
    expect(r.lookup(srv.url, 1000)).toEqual({ jwks: JWKS });
    expect(srv.hits).toBeGreaterThanOrEqual(2);
  });

  it("refuses bodies that are not a usable JWKS, oversize bodies and slow servers", async () => {
    const cases: Array<[(res: ServerResponse) => void, RegExp, object]> = [
      [json("{not json"), /not valid JSON/, {}],
      [json('{"keys":[{"kty":"oct","k":"AAAA"}]}'), /doesn't have any valid public key/, {}],
      [json("x".repeat(2000)), /over the 1000-byte limit/, { maxBytes: 1000 }],
      [() => {}, /timed out after 50 ms/, {}],
    ];
    for (const [reply, re, extra] of cases) {
      const srv = await jwksServer(reply);
      const { log, until } = onLog();
      const r = new JwksResolver({ onChange: () => {}, log, retryBaseMs: 60_000, ...extra });
      cleanup.push(() => r.close(), () => (srv.server.closeAllConnections(), srv.server.close()));
      r.lookup(srv.url, 50);
      await until(re);
      const a = r.lookup(srv.url, 50);
      expect("pending" in a && re.test(a.pending)).toBe(true);
    }
  });

  it("refresh notices rotated keys; a failing refresh keeps the last good keys", async () => {
    const srv = await jwksServer(json(JWKS));
    const c = changes();
    const { log, until } = onLog();
    const r = new JwksResolver({ onChange: c.onChange, log, refreshMs: 10, retryBaseMs: 10_000 });
    cleanup.push(() => r.close(), () => srv.server.close());
    let changed = c.next();
    r.lookup(srv.url, 1000);
    await changed;
    const rotated = JSON.stringify({ keys: [{ ...(JSON.parse(JWKS) as { keys: object[] }).keys[0], kid: "rotated" }] });
    changed = c.next();
    srv.reply = json(rotated);
    await changed;
    expect(r.lookup(srv.url, 1000)).toEqual({ jwks: rotated });
    srv.reply = json("down", 503);
    await until(/HTTP status 503 \(keeping the last keys fetched\)/);
    expect(r.lookup(srv.url, 1000)).toEqual({ jwks: rotated });
  });

  it("forgets URIs not looked up since a mark (a removed policy's JWKS is no longer refreshed)", async () => {
    const srv = await jwksServer(json(JWKS));
    const c = changes();
    const r = new JwksResolver({ onChange: c.onChange, log: createLogger("off") });
    cleanup.push(() => r.close(), () => srv.server.close());
    const changed = c.next();
    r.lookup(`${srv.url}?a`, 1000);
    await changed;
    const mark = r.mark();
    r.lookup(`${srv.url}?b`, 1000);
    r.retainSince(mark);
    // ?a was dropped: asking again starts over; ?b is still known (its first fetch is running).
    expect(r.lookup(`${srv.url}?a`, 1000)).toEqual({ pending: "first fetch in progress" });
    expect(r.lookup(`${srv.url}?b`, 1000)).toEqual({ pending: "first fetch in progress" });
  });

  it("close stops refreshes; lookups after close stay pending", async () => {
    const srv = await jwksServer(json(JWKS));
    const r = new JwksResolver({ onChange: () => {}, log: createLogger("off") });
    cleanup.push(() => srv.server.close());
    r.close();
    expect(r.lookup(srv.url, 1000)).toEqual({ pending: "resolver closed" });
    expect(srv.hits).toBe(0);
  });
});
