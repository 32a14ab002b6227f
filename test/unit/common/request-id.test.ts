import { describe, expect, it } from "vitest";
import { newRequestId } from "../../../src/common/request-id.js";

describe("newRequestId", () => {
  it("makes RFC 4122 version-4 UUIDs, each its own string", () => {
    const seen = new Set<string>();
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = newRequestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
      ids.push(id);
    }
    expect(seen.size).toBe(20_000);
    // The scratch buffer is reused: earlier strings must not change under later calls.
    expect(ids[0]).toBe([...seen][0]);
  });
});
