// What both HTTP/2 codecs (downstream http2-server-headers.ts, upstream http2-client-headers.ts)
// share about header blocks: the connection-specific names RFC 9113 §8.2.2 keeps off an HTTP/2
// connection, and a received raw block (`[name, value, …]`, as the HTTP/2 session decodes it) as a HeaderList.

import { HeaderList } from "../header-list.js";

/** Connection-specific headers (RFC 9113 §8.2.2): never sent to an HTTP/2 peer (a peer would refuse the block as malformed). `te` is handled apart: only `trailers` may pass. */
export const CONNECTION_SPECIFIC_HEADERS: ReadonlySet<string> = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** A received header block's raw list (response headers or trailers) as a HeaderList, pseudo-headers (`:status`) left out. */
export function headerListFromRaw(raw: readonly string[]): HeaderList {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    names.push(name);
    values.push(raw[i + 1]!);
  }
  // Names of an HTTP/2 block are lower case already (the lists must still be distinct arrays).
  return new HeaderList(names, names.slice(), values);
}
