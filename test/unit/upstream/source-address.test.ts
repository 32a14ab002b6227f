import { describe, expect, it } from "vitest";
import { sourceAddressFor } from "../../../src/upstream/source-address.js";

describe("sourceAddressFor (Envoy BindConfig source_address + extra_source_addresses)", () => {
  it("the source address for a host of its family; the extra one of the host's family otherwise", () => {
    expect(sourceAddressFor("127.0.0.6", ["::6"], "10.0.0.1")).toBe("127.0.0.6");
    expect(sourceAddressFor("127.0.0.6", ["::6"], "fd00::1")).toBe("::6");
    expect(sourceAddressFor("::6", ["127.0.0.6"], "10.0.0.1")).toBe("127.0.0.6");
  });

  it("no extra of the host's family, no extras, or no source: unchanged (Envoy keeps source_address)", () => {
    expect(sourceAddressFor("127.0.0.6", ["127.0.0.7"], "fd00::1")).toBe("127.0.0.6");
    expect(sourceAddressFor("127.0.0.6", undefined, "fd00::1")).toBe("127.0.0.6");
    expect(sourceAddressFor(undefined, ["::6"], "fd00::1")).toBeUndefined();
  });
});
