// Shapes of the hostile-input corpus cases and the shorthand used to write them.

/** A hostile (or borderline) request and everything that must follow from it. */
export interface RequestCase {
  name: string;
  /** Raw bytes the client sends, in one write (latin1). */
  send: string;
  /** Statuses the client receives, in order ([] = the connection closes with no reply). */
  replies: number[];
  /** Exactly the requests the upstream receives (minus the proxy's own volatile headers). */
  upstream: string[];
  /** The connection closes after the last reply (default: when the last reply is a local 4xx/5xx). */
  close?: boolean;
  /** The request is HEAD (responses carry no body). */
  head?: boolean;
  /** llhttp's, Envoy's and nginx's verdicts where they differ from ours. */
  note?: string;
}

export const HOST = "Host: x\r\n";

/** `GET <target> HTTP/1.1` with Host x and nothing else, as sent and as forwarded. */
export function get(target: string, extra = ""): string {
  return `GET ${target} HTTP/1.1\r\n${HOST}${extra}\r\n`;
}

/** A request as the upstream must see it: request line, headers, blank line, body. */
export function fwd(line: string, headers: string[], body = ""): string {
  return `${line}\r\n${headers.map((h) => h + "\r\n").join("")}\r\n${body}`;
}

/** A POST with Host x, the given header lines and raw body. */
export function post(headers: string[], body: string, version = "1.1"): string {
  return `POST / HTTP/${version}\r\n${HOST}${headers.map((h) => h + "\r\n").join("")}\r\n${body}`;
}

export const OK_GET = fwd("GET / HTTP/1.1", ["Host: x"]);

/** Envoy's local-reply bodies for codec errors (CodeUtility::toString of the status). */
export const LOCAL_BODY: Record<number, string> = { 400: "Bad Request", 501: "Not Implemented", 431: "Request Header Fields Too Large" };
