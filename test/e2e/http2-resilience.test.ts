// The README's resilience examples (examples/resilience/*.yaml) over HTTP/2 on both sides, through
// the real CLI with 2 workers: an h2c client (node:http2) → Outrigger → h2c upstreams, with the
// examples' port protocol turned to HTTP2 (so every cluster speaks HTTP/2 upstream). Timeouts,
// retries, faults, mirrors and hash policies must work unchanged.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as h2connect, constants as h2c, createServer as createH2Server, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, startCli, tempDir, type CliProcess } from "../helpers/cli-process.js";
import { freePort } from "../helpers/upstreams.js";
import { waitFor, within } from "../helpers/wait.js";

const examples = join(repoRoot, "examples/resilience");
const EXAMPLE_PORTS: Record<string, number> = { v1: 19281, v2: 19282, v3: 19283, shadow: 19284 };
const EXAMPLE_LISTENER = 9280;
let dir = "";
let LISTENER = 0;
type Mode = "ok" | "fail" | "hold";
const ports: Record<string, number> = {};
const mode: Record<string, Mode> = {};
const hits: Record<string, Array<{ path: string; authority: string | undefined }>> = {};
const servers: Http2Server[] = [];
/** Streams held by "hold" upstreams, in arrival order. */
const held: ServerHttp2Stream[] = [];

beforeAll(async () => {
  for (const name of Object.keys(EXAMPLE_PORTS)) {
    const s = createH2Server();
    s.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      (hits[name] ??= []).push({ path: String(headers[":path"]), authority: headers[":authority"] as string | undefined });
      stream.resume();
      const m = mode[name] ?? "ok";
      if (m === "hold") return void held.push(stream);
      const body = JSON.stringify({ name, protocol: "2" });
      stream.respond({ ":status": m === "fail" ? 503 : 200, "content-type": "application/json" });
      stream.end(body);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    ports[name] = (s.address() as AddressInfo).port;
    servers.push(s);
  }
  LISTENER = await freePort();
  dir = await tempDir();
  for (const f of readdirSync(examples).filter((n) => n.endsWith(".yaml"))) {
    let text = readFileSync(join(examples, f), "utf8").replaceAll(String(EXAMPLE_LISTENER), String(LISTENER));
    for (const [name, port] of Object.entries(EXAMPLE_PORTS)) text = text.replaceAll(String(port), String(ports[name]));
    // HTTP/2 upstream: the ports' protocol (the port keeps its name, which the endpoints refer to).
    text = text.replaceAll("name: http, protocol: HTTP}", "name: http, protocol: HTTP2}");
    writeFileSync(join(dir, f), text);
  }
  expect(readFileSync(join(dir, "mesh.yaml"), "utf8")).toContain("protocol: HTTP2}");
});

afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

let cli: CliProcess | undefined;
afterEach(async () => {
  if (cli && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  cli = undefined;
  for (const k of Object.keys(mode)) delete mode[k];
  for (const s of held.splice(0)) s.destroy();
  for (const k of Object.keys(hits)) delete hits[k];
});

async function run(example: string): Promise<void> {
  const admin = await freePort();
  cli = startCli(["run", "--config", join(dir, "mesh.yaml"), "--config", join(dir, example), "--namespace", "shop", "--workers", "2", "--admin-port", String(admin), "--health-port", "0", "--outbound", "off", "--no-watch"]);
  await cli.waitReady(admin);
}

/** One request over h2c on its own connection. */
async function get(headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const s = h2connect(`http://127.0.0.1:${LISTENER}`);
  s.on("error", () => {});
  try {
    const req = s.request({ ":path": "/", ":authority": `ratings:${LISTENER}`, ...headers });
    req.end();
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    const status = await within(new Promise<number>((resolve, reject) => (req.once("response", (h) => resolve(Number(h[":status"]))), req.once("error", reject))), 10_000, "the response");
    await within(new Promise((r) => req.once("end", r)), 10_000, "the body");
    return { status, body };
  } finally {
    s.close();
  }
}

const nameOf = (body: string): string => (JSON.parse(body) as { name: string }).name;

describe("README resilience examples over HTTP/2 both ways", () => {
  it("timeout: a slow upstream gets 504 upstream request timeout, and its HTTP/2 stream is reset", async () => {
    await run("timeout.yaml");
    for (const v of ["v1", "v2", "v3"]) mode[v] = "hold";
    const r = await get();
    expect(r).toEqual({ status: 504, body: "upstream request timeout" });
    const s = held[0]!;
    await within(new Promise<void>((res) => (s.closed ? res() : s.once("close", () => res()))), 5_000, "the upstream stream's reset");
    // Envoy's local reset code (the upstream's stream is aborted all the same).
    expect(s.rstCode).toBe(h2c.NGHTTP2_NO_ERROR);
    expect(s.aborted).toBe(true);
  });

  it("retries: 5xx answers are retried on endpoints not tried yet", async () => {
    await run("retries.yaml");
    mode.v1 = "fail";
    mode.v2 = "fail";
    let ok = 0;
    for (let i = 0; i < 30; i++) {
      const r = await get();
      if (r.status === 200) {
        expect(nameOf(r.body)).toBe("v3");
        ok++;
      } else expect(r.status).toBe(503);
    }
    // A request spends all 4 attempts on the two failing hosts ~0.3% of the time (see the HTTP/1 test).
    expect(ok).toBeGreaterThanOrEqual(28);
  });

  it("fault: abort and delay on matching requests", async () => {
    await run("fault.yaml");
    expect(await get({ "x-chaos": "abort" })).toEqual({ status: 503, body: "fault filter abort" });
    const t0 = performance.now();
    expect((await get({ "x-chaos": "delay" })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await get()).status).toBe(200);
  });

  it("mirror: the shadow service receives a copy over HTTP/2 (no -shadow suffix by default)", async () => {
    await run("mirror.yaml");
    expect((await get()).status).toBe(200);
    const copy = await waitFor(() => hits.shadow?.[0], 5_000, "the mirrored copy");
    expect(copy.authority).toBe(`ratings:${LISTENER}`);
  });

  it("consistent hash: the same x-user always reaches the same endpoint", async () => {
    await run("consistent-hash.yaml");
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 8; i++) {
      for (const user of ["alice", "bob", "carol", "dave"]) {
        const r = await get({ "x-user": user });
        (seen.get(user) ?? seen.set(user, new Set()).get(user)!).add(nameOf(r.body));
      }
    }
    for (const [, versions] of seen) expect(versions.size).toBe(1);
  });
});
