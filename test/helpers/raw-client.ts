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

/** Sends `data` and collects everything until the server closes or `idleMs` passes without data. */
export function rawExchange(port: number, data: string | Buffer, idleMs = 300): Promise<string> {
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
      timer = setTimeout(done, idleMs);
    });
    s.on("end", done);
    s.on("close", done);
    s.on("error", (e) => (out ? done() : reject(e)));
  });
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
    const len = Number(headers["content-length"] ?? (status === 101 || status === 204 || status === 304 ? 0 : rest.length - i - 4));
    const body = Buffer.from(rest.slice(i + 4, i + 4 + len), "latin1");
    out.push({ status, headers, rawHead, body });
    rest = rest.slice(i + 4 + len);
  }
  return out;
}
