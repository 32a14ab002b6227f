// The TCP scenario's client, run as its own process; prints one JSON line.
//   {"mode":"check","port":P}: one connection, "ECHO", 4 bytes must come back within 2 s
//   {"mode":"bulk","port":P,"bytes":N}: "SEND N", read until the upstream ends -> MB/s
//   {"mode":"echo","port":P,"connections":C,"durationS":D,"size":S}: on C persistent connections,
//     send S bytes and wait for all S back before the next (closed loop); the first 0.5 s is not
//     recorded (client warm-up) -> messages/s and round-trip p50/p90/p99
// Only 127.0.0.1 is ever dialled.
import net from 'node:net';

const cfg = JSON.parse(process.argv[2]);
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function check({ port }) {
  const s = await connect(port);
  return new Promise((resolve) => {
    let got = '';
    const timer = setTimeout(() => done({ failed: `no echo within 2 s (got ${JSON.stringify(got)})` }), 2000);
    const done = (r) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (got === 'ping') done({ ok: true });
      else if (!'ping'.startsWith(got)) done({ failed: `unexpected echo ${JSON.stringify(got.slice(0, 60))}` });
    });
    s.on('close', () => done({ failed: got ? `closed after ${JSON.stringify(got.slice(0, 60))}` : 'closed without an answer' }));
    s.on('error', (e) => done({ failed: e.message }));
    s.write('ECHO\nping');
  });
}

async function bulk({ port, bytes }) {
  const s = await connect(port);
  return new Promise((resolve) => {
    let got = 0;
    const t0 = now();
    const timer = setTimeout(() => s.destroy(new Error('bulk transfer took over 120 s')), 120_000);
    s.on('data', (c) => {
      got += c.length;
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      resolve({ failed: e.message, bytes: got });
    });
    s.on('end', () => {
      clearTimeout(timer);
      const seconds = (now() - t0) / 1000;
      s.destroy();
      resolve(got === bytes ? { bytes, seconds, mbps: bytes / 1e6 / seconds } : { failed: `${got} of ${bytes} bytes arrived`, bytes: got });
    });
    s.write(`SEND ${bytes}\n`);
  });
}

async function echo({ port, connections, durationS, size }) {
  const msg = Buffer.alloc(size, 0x62);
  const warmEnd = now() + 500;
  const end = warmEnd + durationS * 1000;
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let errors = 0;
  const one = async () => {
    const s = await connect(port);
    s.write('ECHO\n');
    await new Promise((resolve) => {
      let got = 0;
      let sent = 0;
      const next = () => {
        if (now() >= end) {
          s.destroy();
          return resolve();
        }
        got = 0;
        sent = now();
        s.write(msg);
      };
      s.on('data', (c) => {
        got += c.length;
        if (got < size) return;
        const t = now();
        if (sent >= warmEnd) {
          if (n === lat.length) {
            const bigger = new Float64Array(lat.length * 2);
            bigger.set(lat);
            lat = bigger;
          }
          lat[n++] = t - sent;
        }
        next();
      });
      s.on('error', () => {
        errors++;
        resolve();
      });
      s.on('close', resolve);
      next();
    });
  };
  const results = await Promise.allSettled(Array.from({ length: connections }, one));
  const refused = results.filter((r) => r.status === 'rejected');
  if (refused.length === connections) return { failed: refused[0].reason.message };
  const sorted = lat.slice(0, n).sort();
  const at = (p) => (n ? sorted[Math.min(n - 1, Math.floor(p * n))] : null);
  return { messages: n, rate: n / durationS, p50: at(0.5), p90: at(0.9), p99: at(0.99), errors: errors + refused.length };
}

const modes = { check, bulk, echo };
const t0 = process.cpuUsage();
modes[cfg.mode](cfg).then(
  (r) => {
    const u = process.cpuUsage(t0);
    out({ ...r, clientCpuS: (u.user + u.system) / 1e6 });
    process.exit(0);
  },
  (e) => {
    out({ failed: e.message });
    process.exit(0);
  },
);
