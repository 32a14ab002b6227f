// The address table of a cluster's shared buffer: the host slot of each address a STRICT_DNS name
// resolved to, claimed through the buffer itself so that every worker (each resolving on its own)
// maps the same (endpoint, address, port) to the same slot, without a round trip to the main thread.
//
// Open addressing with linear probing from a hash of the key; entries are never removed. Two
// workers claiming the same key probe the same sequence, so the later one meets the earlier one's
// entry before any free slot: one key never owns two slots.

import { KEY_TEXT_WORDS, KEY_WORDS, KeyState, KW, type ClusterSharedView } from "./cluster-shared-layout.js";

/** A claimer writes its key in a few stores between Claiming and Claimed; a thread killed in between must not hang others. */
const MAX_CLAIM_SPINS = 100_000;

export interface ClaimedHostSlot {
  slot: number;
  endpoint: number;
  address: string;
  port: number;
}

/** Address text as words (4 ASCII characters per word); undefined when it does not fit. */
function encode(address: string): Int32Array | undefined {
  if (address.length > KEY_TEXT_WORDS * 4) return undefined;
  const words = new Int32Array(KEY_TEXT_WORDS);
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c > 0x7f) return undefined;
    words[i >> 2]! |= c << ((i & 3) * 8);
  }
  return words;
}

function decode(keys: Int32Array, b: number): string {
  const len = Atomics.load(keys, b + KW.Length);
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode((Atomics.load(keys, b + KW.Text + (i >> 2)) >>> ((i & 3) * 8)) & 0xff);
  return s;
}

/** FNV-1a over the key: where probing starts. */
function hashKey(endpoint: number, address: string, port: number): number {
  let h = 0x811c9dc5;
  const mix = (c: number): void => {
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
  };
  for (let i = 0; i < address.length; i++) mix(address.charCodeAt(i));
  for (let i = 0; i < 4; i++) mix(endpoint >>> (i * 8));
  for (let i = 0; i < 4; i++) mix(port >>> (i * 8));
  return h >>> 0;
}

function matches(keys: Int32Array, b: number, endpoint: number, port: number, address: string, text: Int32Array): boolean {
  if (Atomics.load(keys, b + KW.Endpoint) !== endpoint || Atomics.load(keys, b + KW.Port) !== port) return false;
  if (Atomics.load(keys, b + KW.Length) !== address.length) return false;
  for (let i = 0; i < KEY_TEXT_WORDS; i++) if (Atomics.load(keys, b + KW.Text + i) !== text[i]) return false;
  return true;
}

/**
 * The host slot of (endpoint, address, port), claiming a free table slot the first time any worker
 * asks. Undefined when the cluster has no table, the table is full, or the address cannot be a key.
 */
export function claimHostSlot(view: ClusterSharedView, endpoint: number, address: string, port: number): number | undefined {
  const n = view.tableSlots;
  const text = n > 0 ? encode(address) : undefined;
  if (text === undefined) return undefined;
  const keys = view.keys;
  const base = view.hostSlots - n;
  const start = hashKey(endpoint, address, port) % n;
  for (let i = 0; i < n; i++) {
    const t = (start + i) % n;
    const b = t * KEY_WORDS;
    let spins = 0;
    let state: number = Atomics.load(keys, b + KW.State);
    while (state !== KeyState.Claimed) {
      if (state === KeyState.Free) {
        if (Atomics.compareExchange(keys, b + KW.State, KeyState.Free, KeyState.Claiming) === KeyState.Free) {
          Atomics.store(keys, b + KW.Endpoint, endpoint);
          Atomics.store(keys, b + KW.Port, port);
          Atomics.store(keys, b + KW.Length, address.length);
          for (let w = 0; w < KEY_TEXT_WORDS; w++) Atomics.store(keys, b + KW.Text + w, text[w]!);
          // The seq-cst store publishes the key written above to every other reader.
          Atomics.store(keys, b + KW.State, KeyState.Claimed);
          return base + t;
        }
      } else if (++spins > MAX_CLAIM_SPINS) {
        break;
      }
      state = Atomics.load(keys, b + KW.State);
    }
    if (state === KeyState.Claimed && matches(keys, b, endpoint, port, address, text)) return base + t;
  }
  return undefined;
}

/** Every claimed table slot with its key (admin output, tests). */
export function claimedHostSlots(view: ClusterSharedView): ClaimedHostSlot[] {
  const out: ClaimedHostSlot[] = [];
  const base = view.hostSlots - view.tableSlots;
  for (let t = 0; t < view.tableSlots; t++) {
    const b = t * KEY_WORDS;
    if (Atomics.load(view.keys, b + KW.State) !== KeyState.Claimed) continue;
    out.push({ slot: base + t, endpoint: Atomics.load(view.keys, b + KW.Endpoint), address: decode(view.keys, b), port: Atomics.load(view.keys, b + KW.Port) });
  }
  return out;
}
