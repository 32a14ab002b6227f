// Tracks every process the bench starts so that all of them are stopped, even on error or Ctrl-C.
import { spawn } from 'node:child_process';

const TAIL_BYTES = 16 * 1024; // enough stderr to explain why a target failed

export class ChildRegistry {
  #children = new Set();

  /** Spawns in its own process group (so the group can be signalled) and keeps a tail of its output. */
  spawn(name, cmd, args, options = {}) {
    const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { name, child, output: '', exited: false, exitCode: null, signal: null };
    const keep = (chunk) => {
      entry.output = (entry.output + chunk.toString()).slice(-TAIL_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    entry.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        entry.exited = true;
        entry.exitCode = code;
        entry.signal = signal;
        resolve();
      });
      child.on('error', (err) => {
        entry.output += `\nspawn error: ${err.message}`;
        entry.exited = true;
        resolve();
      });
    });
    this.#children.add(entry);
    return entry;
  }

  /** SIGTERM the process group, wait up to graceMs, then SIGKILL it. */
  async stop(entry, graceMs = 3000) {
    if (!entry.exited && entry.child.pid) {
      signalGroup(entry.child.pid, 'SIGTERM');
      await Promise.race([entry.exitPromise, sleep(graceMs)]);
      if (!entry.exited) {
        signalGroup(entry.child.pid, 'SIGKILL');
        await Promise.race([entry.exitPromise, sleep(1000)]);
      }
    }
    this.#children.delete(entry);
  }

  async stopAll() {
    await Promise.all([...this.#children].map((entry) => this.stop(entry)));
  }

  /** For process 'exit', where only synchronous work runs. */
  killAllSync() {
    for (const entry of this.#children) {
      if (entry.child.pid && !entry.exited) signalGroup(entry.child.pid, 'SIGKILL');
    }
    this.#children.clear();
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
