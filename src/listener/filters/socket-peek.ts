// peekSocket: reads ahead on an accepted socket without consuming it, for the inspectors. Bytes
// are read in paused mode ('readable' + read()) and given back with unshift, so whoever reads the
// socket next — the next inspector, the codec, the TCP proxy — sees them first, in order.

import type { Socket } from "node:net";
import type { AbortInspection } from "../listener-filter.js";

/** What an inspector makes of the bytes so far. */
export type PeekVerdict = "more" | "done";

/**
 * Calls `inspect` with everything peeked so far on each arrival until it says "done" or
 * `maxBytes` are buffered; then gives the bytes back and calls `finish(true)`. The peer closing
 * (or failing) first calls `finish(false)`: Envoy closes a connection whose peer went away during
 * listener filters. Returns the abort (timeout): bytes back, no callback.
 */
export function peekSocket(socket: Socket, maxBytes: number, inspect: (bytes: Buffer) => PeekVerdict, finish: (proceed: boolean) => void): AbortInspection {
  let bytes: Buffer | null = null;
  let over = false;
  /** `giveBack`: false once the peer is gone (the socket has ended; nothing will read it). */
  const stop = (giveBack: boolean): void => {
    over = true;
    socket.removeListener("readable", onReadable);
    socket.removeListener("end", onGone);
    socket.removeListener("close", onGone);
    if (giveBack && bytes !== null && !socket.destroyed) socket.unshift(bytes);
    bytes = null;
  };
  const onReadable = (): void => {
    if (over) return;
    let chunk: Buffer | null;
    let grew = false;
    while ((chunk = socket.read() as Buffer | null) !== null) {
      bytes = bytes === null ? chunk : Buffer.concat([bytes, chunk]);
      grew = true;
    }
    if (!grew || bytes === null) return;
    if (inspect(bytes) === "done" || bytes.length >= maxBytes) {
      stop(true);
      finish(true);
    }
  };
  const onGone = (): void => {
    if (over) return;
    stop(false);
    finish(false);
  };
  socket.on("readable", onReadable);
  socket.once("end", onGone);
  socket.once("close", onGone);
  return () => {
    if (!over) stop(true);
  };
}
