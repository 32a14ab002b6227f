// The baseline build: another commit of this repository checked out with `git worktree add` in a
// temporary folder outside the repo, built there, run side by side with the current tree, removed
// at the end of the run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function git(repoRoot, args) {
  const res = spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/**
 * Which commit to compare with. BENCH_BASELINE wins (any rev git understands; `none` turns the
 * baseline off). Otherwise: on a branch that has commits main does not, the merge-base with main
 * (what the branch changed); on main itself (or a branch with nothing new), HEAD~1 (the previous
 * commit).
 */
export function resolveBaselineRev(repoRoot, requested) {
  if (requested) return { rev: requested, why: 'BENCH_BASELINE' };
  const head = git(repoRoot, ['rev-parse', 'HEAD']);
  const base = git(repoRoot, ['merge-base', 'HEAD', 'main']);
  if (head && base && base !== head) return { rev: base, why: 'merge-base of HEAD and main' };
  return { rev: 'HEAD~1', why: 'previous commit' };
}

/** The commit under test: short sha, subject, and whether the work tree has uncommitted changes. */
export function describeTree(repoRoot, rev = 'HEAD') {
  const line = git(repoRoot, ['log', '-1', '--format=%h %s', rev]);
  if (!line) return undefined;
  const dirty = rev === 'HEAD' && Boolean(git(repoRoot, ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin', 'package.json']));
  return { short: line.slice(0, line.indexOf(' ')), subject: line.slice(line.indexOf(' ') + 1).slice(0, 100), dirty };
}

/**
 * Checks out rev in a fresh temporary worktree, installs and builds it. Returns
 * { root, rev, sha, short, subject, cleanup } or { missing: reason } (with cleanup when a folder was made).
 * node_modules: when rev's package-lock.json is the current tree's, the current node_modules is
 * linked instead of running `npm ci` again (same lock, same packages; saves a minute and the network).
 */
export function prepareBaseline(repoRoot, rev, { log }) {
  const sha = git(repoRoot, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (!sha) return { missing: `${rev} is not a commit of this repository` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'outrigger-bench-baseline-'));
  const cleanup = () => {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot, stdio: 'ignore', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['worktree', 'prune'], { cwd: repoRoot, stdio: 'ignore', timeout: 60_000 });
  };
  const fail = (reason) => ({ missing: reason, cleanup });
  const add = spawnSync('git', ['worktree', 'add', '--detach', dir, sha], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (add.status !== 0) return fail(`git worktree add failed: ${lastLines(add)}`);
  const short = sha.slice(0, 7);
  const subject = (git(repoRoot, ['log', '-1', '--format=%s', sha]) ?? '').slice(0, 100);
  if (!existsSync(path.join(dir, 'bin', 'outrigger.js'))) return fail(`${short} has no bin/outrigger.js`);

  const sameLock = git(repoRoot, ['rev-parse', `${sha}:package-lock.json`]) === git(repoRoot, ['hash-object', 'package-lock.json']);
  if (sameLock && existsSync(path.join(repoRoot, 'node_modules'))) {
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  } else {
    log(`baseline ${short}: npm ci (its package-lock.json differs from this tree's)`);
    const npm = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
    if (npm.status !== 0) return fail(`npm ci failed: ${lastLines(npm)}`);
  }
  log(`baseline ${short}: building (tsc -p tsconfig.build.json)`);
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  // A failing type check still emits; only a missing dist/ makes the baseline unusable.
  if (res.status !== 0 && !existsSync(path.join(dir, 'dist'))) return fail(`build failed: ${lastLines(res)}`);
  return { root: dir, rev, sha, short, subject, cleanup, buildWarning: res.status === 0 ? undefined : lastLines(res) };
}

function lastLines(res) {
  return `${res.stdout ?? ''}${res.stderr ?? ''}${res.error?.message ?? ''}`.trim().split('\n').slice(-2).join(' | ').slice(0, 300);
}
