import { describe, expect, it } from "vitest";
import { reusePortBalances } from "../../../src/bootstrap/reuse-port.js";

describe("reusePortBalances", () => {
  it.each([
    ["linux", "6.8.0-45-generic", true],
    ["linux", "3.9.0", true],
    ["linux", "3.10", true],
    ["linux", "3.8.13", false],
    ["linux", "2.6.32-754.el6.x86_64", false],
    ["freebsd", "14.1-RELEASE", true],
    ["freebsd", "11.4-RELEASE", false],
    ["sunos", "5.11", true],
    ["aix", "2", true],
    ["darwin", "23.5.0", false],
    ["win32", "10.0.22631", false],
    ["openbsd", "7.5", false],
    ["linux", "unknown", false],
  ])("%s %s → %s", (os, release, expected) => {
    expect(reusePortBalances({ os, release })).toBe(expected);
  });
});
