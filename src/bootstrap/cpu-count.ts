// CPU count this process may really use: the smaller of the scheduler's view and the cgroup quota.
// In a pod with `limits.cpu: 2` on a 64-core node, availableParallelism() says 64; running 64
// workers there only adds throttling, so the default worker count follows the quota.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export interface CpuCountOptions {
  /** cgroup v2 `cpu.max`: "<quota> <period>" or "max <period>". */
  cpuMaxPath?: string;
  /** cgroup v1 CFS quota in µs, -1 = unlimited. */
  cfsQuotaPath?: string;
  /** cgroup v1 CFS period in µs. */
  cfsPeriodPath?: string;
  /** CPUs the scheduler lets us run on; defaults to os.availableParallelism(). */
  parallelism?: number;
}

export const defaultCgroupPaths = {
  cpuMaxPath: "/sys/fs/cgroup/cpu.max",
  cfsQuotaPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
  cfsPeriodPath: "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
} as const;

/** min(availableParallelism, ceil(cgroup quota / period)), at least 1. */
export function availableCpus(opts: CpuCountOptions = {}): number {
  const parallelism = opts.parallelism ?? availableParallelism();
  const quota = cgroupCpuQuota(opts);
  const n = quota === undefined ? parallelism : Math.min(parallelism, quota);
  return Math.max(1, Math.floor(n));
}

/** CPUs allowed by the cgroup quota (rounded up), or undefined when unlimited or unknown. */
export function cgroupCpuQuota(opts: CpuCountOptions = {}): number | undefined {
  const v2 = readText(opts.cpuMaxPath ?? defaultCgroupPaths.cpuMaxPath);
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    if (quota === undefined || quota === "max") return undefined;
    return ratio(Number(quota), Number(period ?? "100000"));
  }
  const q = readText(opts.cfsQuotaPath ?? defaultCgroupPaths.cfsQuotaPath);
  const p = readText(opts.cfsPeriodPath ?? defaultCgroupPaths.cfsPeriodPath);
  if (q === undefined || p === undefined) return undefined;
  return ratio(Number(q.trim()), Number(p.trim()));
}

function ratio(quota: number, period: number): number | undefined {
  // v1 uses -1 for "no limit"; anything unparsable is treated as no limit rather than 1 CPU.
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.ceil(quota / period);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
