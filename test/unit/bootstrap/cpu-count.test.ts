import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { availableCpus, cgroupCpuQuota } from "../../../src/bootstrap/cpu-count.js";

function cgroupFiles(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "outrigger-cgroup-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    cpuMaxPath: join(dir, "cpu.max"),
    cfsQuotaPath: join(dir, "cpu.cfs_quota_us"),
    cfsPeriodPath: join(dir, "cpu.cfs_period_us"),
  };
}

describe("availableCpus", () => {
  it("cgroup v2 quota limits the count, rounding up", () => {
    const paths = cgroupFiles({ "cpu.max": "150000 100000\n" });
    expect(cgroupCpuQuota(paths)).toBe(2);
    expect(availableCpus({ ...paths, parallelism: 64 })).toBe(2);
  });

  it("cgroup v2 quota larger than the CPUs we may run on does not raise the count", () => {
    const paths = cgroupFiles({ "cpu.max": "800000 100000\n" });
    expect(availableCpus({ ...paths, parallelism: 4 })).toBe(4);
  });

  it("cgroup v2 `max` means unlimited", () => {
    const paths = cgroupFiles({ "cpu.max": "max 100000\n" });
    expect(cgroupCpuQuota(paths)).toBeUndefined();
    expect(availableCpus({ ...paths, parallelism: 8 })).toBe(8);
  });

  it("cgroup v1 quota/period", () => {
    const paths = cgroupFiles({ "cpu.cfs_quota_us": "250000\n", "cpu.cfs_period_us": "100000\n" });
    expect(availableCpus({ ...paths, parallelism: 16 })).toBe(3);
  });

  it("cgroup v1 quota -1 means unlimited", () => {
    const paths = cgroupFiles({ "cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n" });
    expect(availableCpus({ ...paths, parallelism: 6 })).toBe(6);
  });

  it("no cgroup files: the scheduler's count", () => {
    const paths = cgroupFiles({});
    expect(cgroupCpuQuota(paths)).toBeUndefined();
    expect(availableCpus({ ...paths, parallelism: 5 })).toBe(5);
  });

  it("a tiny quota still gives one CPU", () => {
    const paths = cgroupFiles({ "cpu.max": "10000 100000\n" });
    expect(availableCpus({ ...paths, parallelism: 4 })).toBe(1);
  });

  it("garbage in cpu.max is treated as no limit", () => {
    const paths = cgroupFiles({ "cpu.max": "banana\n" });
    expect(availableCpus({ ...paths, parallelism: 3 })).toBe(3);
  });

  it("defaults read the real machine and give at least 1", () => {
    expect(availableCpus()).toBeGreaterThanOrEqual(1);
  });
});
