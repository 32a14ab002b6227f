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
    entry.exitPromise.then(async () => {
      await registry.stop(entry);
      const line = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ failed: `paced client failed: ${entry.output.slice(-300)}` });
      }
    });
  });
}
