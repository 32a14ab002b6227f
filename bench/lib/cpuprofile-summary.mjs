// Top self-time functions of V8 .cpuprofile files (one per thread with --cpu-prof).
// Usage: node bench/lib/cpuprofile-summary.mjs [--top N] file-or-dir...
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Self time per function in ms, aggregated by name + file + line. */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the gap after it to sample i.
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const totals = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
    const key = `${cf.functionName || '(anonymous)'}\t${file}:${cf.lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + us);
  }
  // (idle) is time the thread slept; percentages are of busy time only.
  const idleUs = [...totals].filter(([key]) => key.startsWith('(idle)\t')).reduce((a, [, us]) => a + us, 0);
  for (const key of [...totals.keys()]) if (key.startsWith('(idle)\t')) totals.delete(key);
  const totalUs = [...totals.values()].reduce((a, b) => a + b, 0);
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, rows: [...totals].map(([key, us]) => ({ key, ms: us / 1000 })).sort((a, b) => b.ms - a.ms) };
}

export function listProfiles(inputs) {
  const files = [];
  for (const input of inputs) {
    if (statSync(input).isDirectory()) {
      for (const f of readdirSync(input)) if (f.endsWith('.cpuprofile')) files.push(path.join(input, f));
    } else files.push(input);
  }
  return files.sort();
}

/** Markdown-ish text: per file, the top N self-time functions. */
export function summarise(files, top = 20, repoRoot = process.cwd()) {
  const out = [];
  for (const file of files) {
    const { totalMs, idleMs, rows } = selfTimes(JSON.parse(readFileSync(file, 'utf8')));
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
    const tid = /\.(\d+)\.\d+\.cpuprofile$/.exec(path.basename(file))?.[1];
    out.push(`\n${path.basename(file)} (${tid === '0' ? 'main thread' : `worker thread ${tid ?? '?'}`}, ${totalMs.toFixed(0)} ms busy, ${idleMs.toFixed(0)} ms idle)`);
    out.push('| self ms | self % | function | location |', '|---:|---:|---|---|');
    for (const row of rows.slice(0, top)) {
      const [name, loc] = row.key.split('\t');
      const shortLoc = loc === ':0' ? '(native)' : loc.startsWith(repoRoot) ? path.relative(repoRoot, loc) : loc;
      out.push(`| ${row.ms.toFixed(1)} | ${((100 * row.ms) / (totalMs || 1)).toFixed(1)} | \`${name}\` | ${shortLoc} |`);
    }
  }
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let top = 20;
  const topAt = args.indexOf('--top');
  if (topAt >= 0) {
    top = Number(args[topAt + 1]) || 20;
    args.splice(topAt, 2);
  }
  if (args.length === 0) {
    console.error('usage: node bench/lib/cpuprofile-summary.mjs [--top N] file-or-dir...');
    process.exit(2);
  }
  console.log(summarise(listProfiles(args), top));
}
