// A raw HTTP/1 client over net for what fetch/undici won't send: pipelining, HTTP/1.0, malformed
// requests, slow heads.

import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  rawHead: string;
  body: Buffer;
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

export interface ExchangeOptions {
  /**
   * Ends the exchange once this many complete responses have arrived, for a connection the
   * server keeps open. Without it the exchange ends when the server closes (callers send
   * `Connection: close`, or expect the server to close).
   */
  responses?: number;
  /** Fallback only, never what a test relies on: ends after this long without data (ms). */
  idleMs?: number;
}

/**
 * Sends `data` and collects everything until the server closes, or until `responses` complete
 * responses have arrived. A quiet period (`idleMs`, 300 ms; ten times that before the first byte)
 * only ends an exchange that neither closes nor completes, so a hung server fails an assertion
 * instead of the suite.
 */
export function rawExchange(port: number, data: string | Buffer, opts: ExchangeOptions | number = {}): Promise<string> {
  const { responses, idleMs = 300 } = typeof opts === "number" ? { idleMs: opts } : opts;
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => s.write(data));
    let out = "";
    let timer = setTimeout(() => done(), idleMs * 10);
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    s.on("data", (c) => {
      out += c.toString("latin1");
      clearTimeout(timer);
      if (responses !== undefined && completeResponses(out) >= responses) return done();
      timer = setTimeout(done, idleMs);
    });
    s.on("end", done);
    s.on("close", done);
    s.on("error", (e) => (out ? done() : reject(e)));
  });
}

/** How many responses in `text` are complete (head and a body framed by length or chunks). */
export function completeResponses(text: string): number {
  let n = 0;
  let at = 0;
  for (;;) {
    const i = text.indexOf("\r\n\r\n", at);
    if (i === -1) return n;
    const head = text.slice(at, i);
    const status = Number(head.split("\r\n")[0]!.split(" ")[1]);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let end = i + 4;
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = text.indexOf("\r\n0\r\n\r\n", i);
      if (last === -1) return n;
      end = last + 7;
    } else if (cl !== null) {
      end += Number(cl[1]);
      if (text.length < end) return n;
    } else if (!(status === 101 || status === 204 || status === 304 || (status >= 100 && status < 200))) {
      return n; // close-delimited: complete only when the server closes
    }
    n++;
    at = end;
  }
}

/** Splits a byte stream of HTTP/1 responses with content-length bodies. */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const i = rest.indexOf("\r\n\r\n");
    if (i === -1) break;
    const rawHead = rest.slice(0, i);
    const lines = rawHead.split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
      // De-chunk (strictly: the proxy must send canonical chunks), then go on after the last one.
      const parts: Buffer[] = [];
      let at = i + 4;
      for (;;) {
        const eol = rest.indexOf("\r\n", at);
        if (eol === -1) throw new Error(`truncated chunked body: ${JSON.stringify(rest.slice(at, at + 40))}`);
        const sizeLine = rest.slice(at, eol);
        if (!/^[0-9a-f]+$/.test(sizeLine)) throw new Error(`non-canonical chunk size line ${JSON.stringify(sizeLine)}`);
        const size = parseInt(sizeLine, 16);
        at = eol + 2;
        if (size === 0) {
          if (rest.slice(at, at + 2) !== "\r\n") throw new Error("last chunk not followed by CRLF");
          at += 2;
          break;
        }
        parts.push(Buffer.from(rest.slice(at, at + size), "latin1"));
        if (rest.slice(at + size, at + size + 2) !== "\r\n") throw new Error("chunk data not followed by CRLF");
        at += size + 2;
      }
      out.push({ status, headers, rawHead, body: Buffer.concat(parts) });
      rest = rest.slice(at);
      continue;
    }
    const len = Number(headers["content-length"] ?? (status === 101 || status === 204 || status === 304 ? 0 : rest.length - i - 4));
    const body = Buffer.from(rest.slice(i + 4, i + 4 + len), "latin1");
    out.push({ status, headers, rawHead, body });
    rest = rest.slice(i + 4 + len);
  }
  return out;
}
