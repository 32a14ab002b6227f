// A cached IMF-fixdate for local replies' `date` header, recomputed at most once per second.

let cachedSecond = -1;
let cached = "";

export function httpDate(nowMs: number = Date.now()): string {
  const s = Math.floor(nowMs / 1000);
  if (s !== cachedSecond) {
    cachedSecond = s;
    cached = new Date(s * 1000).toUTCString();
  }
  return cached;
}
