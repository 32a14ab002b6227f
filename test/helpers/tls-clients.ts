// Real TLS clients for interop tests: `openssl s_client` (one HTTP/1.1 request, its output and the
// negotiated facts) and `curl` with client certificates. Never our own TLS code on the client side.

import { execFile, spawn } from "node:child_process";

export interface SClientResult {
  /** Everything s_client printed (handshake summary, then the response). */
  out: string;
  code: number | null;
  /** `ALPN protocol: X` → X; undefined when none was negotiated. */
  alpn: string | undefined;
  /** s_client's `Reused` / `New` line. */
  reused: boolean;
  /** The HTTP response (from the status line on), "" when none arrived. */
  response: string;
}

export interface SClientOptions {
  cert?: string;
  key?: string;
  /** Extra certificates sent after the leaf (intermediates, root). */
  chain?: string;
  caFile?: string;
  alpn?: string;
  sessOut?: string;
  sessIn?: string;
  servername?: string;
  tls12?: boolean;
  /** Offer no session ticket (the server then makes a session id). */
  noTicket?: boolean;
  /** Bytes written once connected; default one GET with `connection: close`. */
  request?: string;
}

export function sClient(port: number, o: SClientOptions = {}): Promise<SClientResult> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-ign_eof"];
  if (o.cert !== undefined) args.push("-cert", o.cert);
  if (o.key !== undefined) args.push("-key", o.key);
  if (o.chain !== undefined) args.push("-cert_chain", o.chain);
  if (o.caFile !== undefined) args.push("-CAfile", o.caFile);
  if (o.alpn !== undefined) args.push("-alpn", o.alpn);
  if (o.sessOut !== undefined) args.push("-sess_out", o.sessOut);
  if (o.sessIn !== undefined) args.push("-sess_in", o.sessIn);
  if (o.servername !== undefined) args.push("-servername", o.servername);
  if (o.tls12 === true) args.push("-tls1_2");
  if (o.noTicket === true) args.push("-no_ticket");
  return new Promise((resolve, reject) => {
    const p = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
    p.stderr.on("data", (d: Buffer) => (out += d.toString("latin1")));
    p.on("error", reject);
    p.stdin.on("error", () => {});
    p.stdin.end(o.request ?? "GET /tls HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n");
    p.on("close", (code) => {
      const alpn = /ALPN protocol: (\S+)/.exec(out)?.[1];
      const at = out.indexOf("HTTP/1.1 ");
      resolve({ out, code, alpn, reused: /^Reused,/m.test(out), response: at < 0 ? "" : out.slice(at) });
    });
  });
}

/** curl over TLS with a client certificate; resolves with stdout (body) and the exit code. */
export function curlTls(url: string, o: { cert?: string; key?: string; caFile: string; headers?: string[] }): Promise<{ code: number; body: string; stderr: string }> {
  const args = ["-sS", "--max-time", "10", "--cacert", o.caFile];
  if (o.cert !== undefined) args.push("--cert", o.cert, "--key", o.key!);
  for (const h of o.headers ?? []) args.push("-H", h);
  args.push(url);
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? -1), body: stdout, stderr });
    });
  });
}
