// A node:http2 client request for tests: the response's status, headers, body and trailers.

import type * as http2 from "node:http2";

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** One request on `s` (a body ends it; none: END_STREAM on the headers); rejects on a stream error. */
export function request(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const r = s.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    r.on("response", (h) => (head = h));
    r.on("trailers", (t) => (trailers = t));
    r.on("data", (c: Buffer) => chunks.push(c));
    r.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks), trailers }));
    r.on("error", reject);
    if (body !== undefined) r.end(body);
  });
}
