// Runs paced-client.mjs in its own process and returns its JSON.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./paced-client.mjs', import.meta.url));

export function runPaced(registry, cfg) {
  return new Promise((resolve) => {
    const entry = registry.spawn('paced-client', process.execPath, [SCRIPT, JSON.stringify(cfg)]);
    let out = '';
    entry.child.stdout.on('data', (c) => {
      out += c;
    });
    // 'exit' can come before the last stdout bytes are read (the timeline JSON is large): wait for both.
    const stdoutEnd = new Promise((r) => entry.child.stdout.once('close', r));
    const ended = Promise.all([entry.exitPromise, Promise.race([stdoutEnd, new Promise((r) => setTimeout(r, 5000))])]);
    ended.then(async () => {
      await registry.stop(entry);
      const line = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ failed: `paced client failed: ${out ? `unparsable output (${out.length} bytes)` : entry.output.slice(-300)}` });
      }
    });
  });
}
