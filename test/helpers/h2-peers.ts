// The real HTTP/2 peers of the e2e tests, run as child processes: curl (--http2-prior-knowledge),
// nghttp and h2load (Debian nghttp2-client). Every run is bounded in time; their text output is
// parsed into the facts the tests check.

import { execFile } from "node:child_process";

export interface ToolRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `cmd args…`, killed after `timeoutMs`; resolves whatever the exit code. */
export function runTool(cmd: string, args: string[], timeoutMs = 30_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: "buffer", killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (e && typeof e.code === "string") return reject(new Error(`${cmd}: ${e.message}`));
      if (e?.killed) return reject(new Error(`${cmd} ${args.join(" ")}: killed after ${timeoutMs} ms\n${stderr.toString()}`));
      resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr: stderr.toString() });
    });
  });
}

export interface CurlResult {
  status: number;
  httpVersion: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * `curl -sS -i --http2-prior-knowledge …` (or `--http1.1` when `h1`): status, the response head's
 * headers (last value of each, lower-case names) and the body, byte for byte.
 */
export async function curl(url: string, args: string[] = [], opts: { h1?: boolean; timeoutMs?: number } = {}): Promise<CurlResult> {
  const r = await runTool("curl", ["-sS", "-i", opts.h1 ? "--http1.1" : "--http2-prior-knowledge", "--max-time", "20", ...args, url], opts.timeoutMs ?? 25_000);
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  // -i puts the head(s) before the body on stdout: skip interim (1xx) heads, then split once.
  let out = r.stdout;
  for (;;) {
    const end = out.indexOf("\r\n\r\n");
    if (end < 0) throw new Error(`curl: no response head in ${JSON.stringify(out.toString("latin1").slice(0, 200))}`);
    const head = out.subarray(0, end).toString("latin1");
    out = out.subarray(end + 4);
    const [statusLine, ...lines] = head.split("\r\n");
    const m = /^HTTP\/([\d.]+) (\d{3})/.exec(statusLine ?? "");
    if (!m) throw new Error(`curl: no status line in ${JSON.stringify(head)}`);
    if (m[2]!.startsWith("1")) continue;
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(":");
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status: Number(m[2]), httpVersion: m[1]!, headers, body: out };
  }
}

export interface NghttpFrame {
  dir: "send" | "recv";
  type: string;
  streamId: number;
  flags: string;
  /** The indented lines under the frame line (SETTINGS entries, window increments, headers). */
  detail: string[];
}

/** Frames in `nghttp -v` output, in order. */
export function nghttpFrames(text: string): NghttpFrame[] {
  const frames: NghttpFrame[] = [];
  for (const line of text.split("\n")) {
    const m = /\] (send|recv) (\w+) frame <length=\d+, flags=(0x[0-9a-f]+), stream_id=(\d+)>/.exec(line);
    if (m) {
      frames.push({ dir: m[1] as "send" | "recv", type: m[2]!, flags: m[3]!, streamId: Number(m[4]), detail: [] });
      continue;
    }
    // Event lines start with "[ time]"; a frame's details are the indented lines under it.
    const last = frames.at(-1);
    if (last && /^\s+\S/.test(line)) last.detail.push(line.trim());
  }
  return frames;
}

/** SETTINGS the peer sent (first non-ACK SETTINGS frame received), by name: value. */
export function receivedSettings(frames: NghttpFrame[]): Record<string, number> {
  const f = frames.find((x) => x.dir === "recv" && x.type === "SETTINGS" && x.flags === "0x00");
  const out: Record<string, number> = {};
  for (const d of f?.detail ?? []) {
    const m = /^\[(SETTINGS_\w+)\(0x[0-9a-f]+\):(\d+)\]$/.exec(d);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export interface H2loadSummary {
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
}

/** h2load's "requests:" and "status codes:" lines. */
export function h2loadSummary(text: string): H2loadSummary {
  const rq = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const sc = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  if (!rq || !sc) throw new Error(`h2load output without its summary:\n${text}`);
  const n = (s: string | undefined): number => Number(s);
  return {
    total: n(rq[1]),
    started: n(rq[2]),
    done: n(rq[3]),
    succeeded: n(rq[4]),
    failed: n(rq[5]),
    errored: n(rq[6]),
    timeout: n(rq[7]),
    status: { "2xx": n(sc[1]), "3xx": n(sc[2]), "4xx": n(sc[3]), "5xx": n(sc[4]) },
  };
}
