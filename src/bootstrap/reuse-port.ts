// Whether this OS load-balances accepted connections across sockets bound with SO_REUSEPORT —
// what lets every worker thread listen on the same port. Node's `reusePort` listen option works
// only there (Node docs: Linux 3.9+, DragonFlyBSD 3.6+, FreeBSD 12.0+, Solaris 11.4, AIX 7.2.5+);
// elsewhere (macOS, Windows, OpenBSD, NetBSD) listen() fails, so the proxy must not ask for it.

import { platform as osPlatform, release as osRelease } from "node:os";

export interface PlatformInfo {
  /** `process.platform`: linux, darwin, win32, freebsd, … */
  os: string;
  /** `os.release()`: the kernel version, e.g. 6.8.0-45-generic. */
  release: string;
}

/** Minimum kernel release (major, minor, patch) per platform with SO_REUSEPORT balancing. */
const MINIMUM_RELEASE: Record<string, readonly [number, number, number]> = {
  linux: [3, 9, 0],
  freebsd: [12, 0, 0],
  // Solaris reports release 5.11 from 11.0 on; SO_REUSEPORT balancing came with 11.4, which the
  // release string cannot tell apart, so a bind failure there is still reported per listener.
  sunos: [5, 11, 0],
  // AIX: os.release() is the AIX minor alone ("2" on 7.2); treated as supported.
  aix: [0, 0, 0],
};

export function currentPlatform(): PlatformInfo {
  return { os: osPlatform(), release: osRelease() };
}

/** True when every worker can bind the same port and the kernel spreads connections over them. */
export function reusePortBalances(p: PlatformInfo = currentPlatform()): boolean {
  const min = MINIMUM_RELEASE[p.os];
  if (min === undefined) return false;
  const parts = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(p.release);
  if (parts === null) return false;
  const have = [Number(parts[1]), Number(parts[2] ?? 0), Number(parts[3] ?? 0)];
  for (let i = 0; i < 3; i++) {
    if ((have[i] as number) !== min[i]) return (have[i] as number) > (min[i] as number);
  }
  return true;
}
