// The shared address table: one slot per (endpoint, address, port) whoever asks first, agreed by
// every view of the buffer; full tables and unencodable keys answer undefined.

import { describe, expect, it } from "vitest";
import { allocateClusterShared, DNS_SLOTS_PER_NAME, hostSlotShape, viewClusterShared } from "../../../../src/upstream/shared/cluster-shared-layout.js";
import { claimedHostSlots, claimHostSlot } from "../../../../src/upstream/shared/host-slot-table.js";
import type { Cluster } from "../../../../src/config/model/types.js";

function views(hostSlots: number, tableSlots: number) {
  const buffer = allocateClusterShared(hostSlots, 2, tableSlots);
  return [viewClusterShared(buffer, hostSlots, tableSlots)!, viewClusterShared(buffer, hostSlots, tableSlots)!] as const;
}

describe("host slot table", () => {
  it("claims table slots after the endpoint slots; every view maps a key to the same slot", () => {
    const [a, b] = views(2 + 8, 8);
    const s1 = claimHostSlot(a, 1, "10.0.0.1", 443)!;
    const s2 = claimHostSlot(b, 1, "2001:db8::1", 443)!;
    expect(s1).toBeGreaterThanOrEqual(2);
    expect(s2).toBeGreaterThanOrEqual(2);
    expect(s1).not.toBe(s2);
    expect(claimHostSlot(b, 1, "10.0.0.1", 443)).toBe(s1);
    expect(claimHostSlot(a, 1, "2001:db8::1", 443)).toBe(s2);
    // Another endpoint or port is another host (Envoy does not share state between DNS names).
    expect(claimHostSlot(a, 0, "10.0.0.1", 443)).not.toBe(s1);
    expect(claimHostSlot(a, 1, "10.0.0.1", 80)).not.toBe(s1);
    expect(claimedHostSlots(b).find((c) => c.slot === s2)).toEqual({ slot: s2, endpoint: 1, address: "2001:db8::1", port: 443 });
  });

  it("a full table, no table, or an address that cannot be a key gives no slot", () => {
    const [a] = views(3, 2);
    expect(claimHostSlot(a, 0, "10.0.0.1", 1)).toBeDefined();
    expect(claimHostSlot(a, 0, "10.0.0.2", 1)).toBeDefined();
    expect(claimHostSlot(a, 0, "10.0.0.3", 1)).toBeUndefined();
    expect(claimHostSlot(a, 0, "10.0.0.1", 1)).toBeDefined();
    const [none] = views(2, 0);
    expect(claimHostSlot(none, 0, "10.0.0.1", 1)).toBeUndefined();
    const [c] = views(4, 4);
    expect(claimHostSlot(c, 0, "x".repeat(49), 1)).toBeUndefined();
    expect(claimHostSlot(c, 0, "é", 1)).toBeUndefined();
  });

  it("sizes the table per STRICT_DNS name; LOGICAL_DNS and STATIC clusters have none", () => {
    const eps = (addresses: string[]) => ({ endpoints: [{ locality: {}, priority: 0, lbEndpoints: addresses.map((address) => ({ address, port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" as const })) }] });
    const c = (type: Cluster["type"], a: string[]): Cluster => ({ name: "c", type, lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1, loadAssignment: eps(a) });
    expect(hostSlotShape(c("STRICT_DNS", ["a.example", "10.0.0.1", "b.example"]))).toEqual({ hostSlots: 3 + 2 * DNS_SLOTS_PER_NAME, tableSlots: 2 * DNS_SLOTS_PER_NAME });
    expect(hostSlotShape(c("LOGICAL_DNS", ["a.example"]))).toEqual({ hostSlots: 1, tableSlots: 0 });
    expect(hostSlotShape(c("STATIC", ["10.0.0.1"]))).toEqual({ hostSlots: 1, tableSlots: 0 });
    // A view with the wrong table size is refused (a buffer of another shape).
    const buffer = allocateClusterShared(3, 1, 2);
    expect(viewClusterShared(buffer, 3, 1)).toBeUndefined();
  });
});
