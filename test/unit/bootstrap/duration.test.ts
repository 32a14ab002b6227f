import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../../src/bootstrap/duration.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["5s", 5_000],
    ["1.5s", 1_500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["0", 0],
    ["0s", 0],
  ])("%s → %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "5", "5x", "s", "-1s", "1h 30m", "5sec"])("rejects %j", (text) => expect(parseDuration(text)).toBeUndefined());

  it("formats the shortest exact form", () => {
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(formatDuration(5_000)).toBe("5s");
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(1_500)).toBe("1500ms");
    expect(formatDuration(0)).toBe("0");
  });
});
