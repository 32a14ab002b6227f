// CidrRange matching for filter-chain selection: IPv4 and IPv6 (IPv4-mapped IPv6 addresses, as
// dual-stack sockets report them, match IPv4 ranges).

import { isIPv4, isIPv6 } from "node:net";
import type { CidrRange } from "../config/model/types.js";

export interface ParsedIp {
  v6: boolean;
  value: bigint;
}

function parseV4(ip: string): bigint {
  let v = 0n;
  for (const part of ip.split(".")) v = (v << 8n) | BigInt(Number(part));
  return v;
}

function parseV6(ip: string): bigint {
  const zone = ip.indexOf("%");
  if (zone !== -1) ip = ip.slice(0, zone);
  let tail: bigint | undefined;
  const lastColon = ip.lastIndexOf(":");
  if (ip.includes(".", lastColon)) {
    // Embedded IPv4 in the last 32 bits.
    tail = parseV4(ip.slice(lastColon + 1));
    ip = `${ip.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = ip.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const r = rest === undefined ? [] : rest === "" ? [] : rest.split(":");
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill("0"), ...r];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tail !== undefined) v = (v & ~0xffffffffn) | tail;
  return v;
}

/** Parses an address; IPv4-mapped IPv6 becomes IPv4. undefined when not an IP literal. */
export function parseIp(ip: string): ParsedIp | undefined {
  if (isIPv4(ip)) return { v6: false, value: parseV4(ip) };
  if (!isIPv6(ip)) return undefined;
  const v = parseV6(ip);
  if (v >> 32n === 0xffffn) return { v6: false, value: v & 0xffffffffn };
  return { v6: true, value: v };
}

export class CompiledCidr {
  readonly prefixLen: number;
  private readonly v6: boolean;
  private readonly network: bigint;
  private readonly mask: bigint;

  constructor(r: CidrRange) {
    const ip = parseIp(r.addressPrefix);
    if (ip === undefined) throw new Error(`invalid CIDR address ${JSON.stringify(r.addressPrefix)}`);
    const bits = ip.v6 ? 128 : 32;
    if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > bits) throw new Error(`invalid CIDR prefix length ${r.prefixLen} for ${r.addressPrefix}`);
    this.v6 = ip.v6;
    this.prefixLen = r.prefixLen;
    const all = (1n << BigInt(bits)) - 1n;
    this.mask = r.prefixLen === 0 ? 0n : (all >> BigInt(bits - r.prefixLen)) << BigInt(bits - r.prefixLen);
    this.network = ip.value & this.mask;
  }

  contains(ip: ParsedIp): boolean {
    return ip.v6 === this.v6 && (ip.value & this.mask) === this.network;
  }
}

export function isLoopback(ip: ParsedIp): boolean {
  return ip.v6 ? ip.value === 1n : ip.value >> 24n === 127n;
}
