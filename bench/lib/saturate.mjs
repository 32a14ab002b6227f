// Saturation load with autocannon (closed loop, N connections) and, when installed, wrk.
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';

/**
 * autocannon's own histogram rounds latency to whole milliseconds, so precise percentiles are
 * taken from its per-response event (fractional ms) instead.
 */
export function runAutocannon({ port, host, connections, durationS }) {
  return new Promise((resolve) => {
    let lat = new Float64Array(1 << 16);
    let n = 0;
    const inst = autocannon(
      { url: `http://127.0.0.1:${port}/`, connections, duration: durationS, headers: { host }, timeout: 10 },
      (err, result) => {
        if (err) return resolve({ failed: err.message });
        const sorted = lat.slice(0, n).sort();
        const at = (p) => (n ? sorted[Math.min(n - 1, Math.floor(p * n))] : null);
        resolve({
          rps: result.requests.average,
          completed: result.requests.total,
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          p50: at(0.5),
          p99: at(0.99),
          p50Rounded: result.latency.p50,
          p99Rounded: result.latency.p99,
        });
      },
    );
    inst.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = responseTime;
    });
  });
}

/** `wrk -t1 -c<connections> -d<d>s --latency`; parses rps, p50, p99 (ms), non-2xx and socket errors. */
export function runWrk(wrkBin, { port, host, connections, durationS }) {
  return new Promise((resolve) => {
    const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', '-H', `Host: ${host}`, `http://127.0.0.1:${port}/`];
    execFile(wrkBin, args, { timeout: (durationS + 30) * 1000, encoding: 'utf8' }, (err, stdout) => {
      if (err && !stdout) return resolve({ failed: err.message });
      const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
      const pct = (p) => {
        const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
        return m ? toMs(m[1], m[2]) : null;
      };
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      resolve({
        rps: rps ? Number(rps[1]) : null,
        p50: pct(50),
        p99: pct(99),
        non2xx: non2xx ? Number(non2xx[1]) : 0,
        errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
      });
    });
  });
}
