// Small statistics over rounds: median and range, ignoring missing values.
export function summary(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

export function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a / b) ? a / b : null;
}
