// A "pod" with the real outrigger sidecar in it: the peer's servers, the pod's app, node clients run
// as the app's uid, and the proxy CLI started inside the pod as uid/gid 1337 (as Istio's injector
// runs istio-proxy) behind the rules outrigger-iptables installed. Builds on test/helpers/netns.ts.

import { spawn } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startCli, tempDir, type CliProcess } from "./cli-process.js";
import { inNs, must, Topology } from "./netns.js";

/** uid:gid of the app (servers and clients in the pod): anything but 1337. */
export const APP_UID = 1000;
export const PROXY_UID = 1337;
export const ADMIN_PORT = 15000;

/** The peer's servers: [port, kind, label]. Every one listens on :: (IPv4 and IPv6, every address). */
export const PEER_SERVERS: Array<[number, "http" | "echo" | "tls", string]> = [
  [80, "http", "peer80"],
  [8081, "http", "web-v1"],
  [8082, "http", "web-v2"],
  [9001, "echo", "echo"],
  [7071, "echo", "unknown-tcp"],
  [8443, "tls", "tls-a"],
  [8444, "tls", "tls-b"],
  [9999, "http", "excluded-port"],
];

// HTTP servers answer JSON {server, local, remote, headers}; echo servers answer each line with
// "label local from remote: line"; TLS servers write "label servername" and close.
const SERVERS_JS = `
const net = require("node:net"), http = require("node:http"), tls = require("node:tls"), fs = require("node:fs");
const [specsJson, certDir] = process.argv.slice(2);
const specs = JSON.parse(specsJson);
const a = (s) => String(s).replace(/^::ffff:/, "");
const where = (sock) => ({ local: a(sock.localAddress) + ":" + sock.localPort, remote: a(sock.remoteAddress) });
let up = 0;
for (const [port, kind, label] of specs) {
  let srv;
  if (kind === "http") {
    srv = http.createServer((q, s) => {
      s.setHeader("content-type", "application/json");
      s.end(JSON.stringify({ server: label, ...where(q.socket), headers: q.headers }));
    });
  } else if (kind === "echo") {
    srv = net.createServer((c) => {
      c.on("error", () => {});
      let buf = "";
      c.on("data", (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\\n")) >= 0) {
          const w = where(c);
          c.write(label + " " + w.local + " from " + w.remote + ": " + buf.slice(0, i) + "\\n");
          buf = buf.slice(i + 1);
        }
      });
      c.on("end", () => c.end());
    });
  } else {
    const opts = { key: fs.readFileSync(certDir + "/key.pem"), cert: fs.readFileSync(certDir + "/cert.pem") };
    srv = tls.createServer(opts, (s) => { s.on("error", () => {}); s.end(label + " " + s.servername + "\\n"); });
  }
  srv.listen({ port, host: "::", ipv6Only: false }, () => { if (++up === specs.length) console.log("ready"); });
}
`;

// One request or connection, printed as one JSON line: {status, headers, body} | {data} | {error}.
const CLIENT_JS = `
const net = require("node:net"), http = require("node:http"), tls = require("node:tls");
const [mode, host, portText, extra] = process.argv.slice(2);
const port = Number(portText);
const out = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
setTimeout(() => out({ error: "timeout" }), 4000).unref();
if (mode === "http") {
  const headers = extra ? JSON.parse(extra) : {};
  const q = http.request({ host, port, path: "/hello", headers, agent: false }, (res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => out({ status: res.statusCode, headers: res.headers, body }));
  });
  q.on("error", (e) => out({ error: e.code || e.message }));
  q.end();
} else if (mode === "tcp") {
  const c = net.connect({ host, port });
  let data = "";
  c.on("connect", () => c.write((extra || "ping") + "\\n"));
  c.on("data", (d) => { data += d; if (data.endsWith("\\n")) { c.end(); out({ data }); } });
  c.on("error", (e) => out({ error: e.code || e.message, data }));
  c.on("close", () => out({ closed: true, data }));
} else if (mode === "tls") {
  const c = tls.connect({ host, port, servername: extra, rejectUnauthorized: false });
  let data = "";
  c.on("data", (d) => (data += d));
  c.on("error", (e) => out({ error: e.code || e.message, data }));
  c.on("close", () => out({ data }));
}
`;

export interface ClientResult {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  data?: string;
  closed?: boolean;
  error?: string;
}

/** The peer's servers' JSON answer (HTTP). */
export interface Echoed {
  server: string;
  local: string;
  remote: string;
  headers: Record<string, string>;
}

export class SidecarPod extends Topology {
  /** World-readable scratch: scripts, certificate, config (uid 1337 and the app's uid read it). */
  dir = "";
  proxy: CliProcess | undefined;

  async setup(): Promise<void> {
    await this.create();
    this.dir = await tempDir("outrigger-sidecar-");
    await chmod(this.dir, 0o755);
    await writeFile(join(this.dir, "servers.js"), SERVERS_JS);
    await writeFile(join(this.dir, "client.js"), CLIENT_JS);
    await must("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=tls.example",
      "-days", "1", "-keyout", join(this.dir, "key.pem"), "-out", join(this.dir, "cert.pem"),
    ]);
    await this.runServers(this.peer, PEER_SERVERS, []);
    // the app: its HTTP server on 8080, as the app's uid
    await this.runServers(this.pod, [[8080, "http", "app"]], ["setpriv", `--reuid=${APP_UID}`, `--regid=${APP_UID}`, "--clear-groups"]);
  }

  private async runServers(ns: string, specs: Array<[number, string, string]>, wrap: string[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", ns, ...wrap, process.execPath, join(this.dir, "servers.js"), JSON.stringify(specs), this.dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    await this.started(child);
  }

  /** Writes the config files for the proxy (config dir + mesh config) and returns their paths. */
  async writeConfig(mesh: string, meshConfig: string): Promise<{ configDir: string; meshFile: string }> {
    const configDir = join(this.dir, "config");
    await must("mkdir", ["-p", configDir]);
    await chmod(configDir, 0o755);
    await writeFile(join(configDir, "mesh.yaml"), mesh);
    const meshFile = join(this.dir, "meshconfig.yaml");
    await writeFile(meshFile, meshConfig);
    return { configDir, meshFile };
  }

  /** Starts `outrigger run --intercept …` in the pod as uid/gid 1337 (TPROXY: with CAP_NET_ADMIN, as Istio grants it). */
  async startProxy(args: string[], tproxy: boolean, env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
    const caps = tproxy ? ["--inh-caps", "+net_admin", "--ambient-caps", "+net_admin"] : [];
    const wrap = ["ip", "netns", "exec", this.pod, "setpriv", `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, "--clear-groups", ...caps];
    const cli = startCli(["run", "--admin-port", String(ADMIN_PORT), "--stats-port", "0", "--health-port", "0", "--no-watch", ...args], env, wrap);
    this.proxy = cli;
    await cli.waitForLog(/^outrigger ready: /m, 20_000);
    const ready = await this.admin("/ready");
    if (!ready.startsWith("LIVE")) throw new Error(`outrigger printed its ready line but /ready answers ${ready}:\n${cli.stderr()}`);
    return cli;
  }

  /** GET on the proxy's admin API, from inside the pod (as root: 127.0.0.1 is never captured). */
  async admin(path: string): Promise<string> {
    return must("ip", ["netns", "exec", this.pod, "curl", "-sS", "--max-time", "5", `http://127.0.0.1:${ADMIN_PORT}${path}`]);
  }

  /** The proxy's counters, by Envoy name. */
  async counters(): Promise<Map<string, number>> {
    const text = await this.admin("/stats");
    const m = new Map<string, number>();
    for (const line of text.split("\n")) {
      const hit = /^(\S+): (\d+)$/.exec(line);
      if (hit) m.set(hit[1]!, Number(hit[2]));
    }
    return m;
  }

  /** One client call from `ns` as the app's uid (in the pod: captured by iptables). */
  async client(ns: string, mode: "http" | "tcp" | "tls", host: string, port: number, extra?: string): Promise<ClientResult> {
    const args = ["setpriv", `--reuid=${APP_UID}`, `--regid=${APP_UID}`, "--clear-groups", process.execPath, join(this.dir, "client.js"), mode, host, String(port)];
    if (extra !== undefined) args.push(extra);
    const r = await inNs(ns, args);
    if (r.code !== 0) throw new Error(`client exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as ClientResult;
  }

  /** An HTTP call whose upstream is one of the peer's (or the app's) HTTP servers: its echoed view. */
  async get(ns: string, host: string, port: number, headers: Record<string, string> = {}): Promise<{ res: ClientResult; seen: Echoed }> {
    const res = await this.client(ns, "http", host, port, JSON.stringify(headers));
    if (res.status !== 200) throw new Error(`GET ${host}:${port} answered ${JSON.stringify(res)}\nproxy stderr:\n${this.proxy?.stderr() ?? ""}`);
    return { res, seen: JSON.parse(res.body!) as Echoed };
  }

  /** Access log lines (JSON encoding) the proxy wrote so far. */
  accessLog(): Array<Record<string, unknown>> {
    return (this.proxy?.stdout() ?? "")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /**
   * The first access log entry `match` accepts, waiting for the proxy to flush more lines (Envoy
   * flushes access log files every second) — woken by the proxy's output, bounded by `timeoutMs`.
   */
  async accessLogEntry(match: (e: Record<string, unknown>) => boolean, timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const proxy = this.proxy!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entries = this.accessLog();
      const hit = entries.find(match);
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching access log entry; got:\n${entries.map((e) => JSON.stringify(e)).join("\n")}`);
      // wait for one more JSON line than there is now
      await proxy.waitForLog(new RegExp(`^(?:[^]*?^\\{[^\\n]*\\n){${entries.length + 1}}`, "m"), left).catch(() => undefined);
    }
  }

  override async destroy(): Promise<void> {
    if (this.proxy && this.proxy.child.exitCode === null) {
      this.proxy.kill("SIGKILL");
      await this.proxy.exited;
    }
    await super.destroy();
    if (this.dir) await must("rm", ["-rf", this.dir]);
  }
}
