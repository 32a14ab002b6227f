// Weighted choice over cumulative weights: the first index whose running total exceeds a point
// drawn uniformly in [0, total). Shared by weighted random host picks and tcp_proxy's weighted
// clusters.

/** Index of the first entry of `cumulative` (ascending running totals) greater than `point`. */
export function indexAtWeight(cumulative: ArrayLike<number>, point: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > point) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
