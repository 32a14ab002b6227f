// Even-paced HTTP/1.1 keep-alive client, run as its own process: request i is due at t0 + i/rate
// and its latency is measured from that due time, so a stalled target cannot hide its queueing
// (coordinated omission). A ticker thread sleeps with Atomics.wait (sub-millisecond precision,
// no busy spinning) and tells the main thread when each request is due; the main thread owns
// the sockets. Prints one JSON line with the results.
// Usage: node paced-client.mjs '{"port":..,"host":..,"rate":1000,"durationS":10,"connections":12}'
// With "timeline":true (the failover scenario) nothing is left out: no warm-up, no unmeasured
// connection opening, failures recorded too, and the JSON carries every request's due time,
// status and latency (`timeline`) plus t0 on the wall clock (`t0EpochMs`).
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const now = () => Number(process.hrtime.bigint()); // ns on the monotonic clock, same in every thread

if (!isMainThread) {
  const { periodNs, total } = workerData;
  // Wait for t0 so that thread start-up time never turns into a burst of late requests.
  const t0 = await new Promise((resolve) => parentPort.once('message', resolve));
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let i = 0;
  while (i < total) {
    const due = t0 + i * periodNs;
    const waitMs = (due - now()) / 1e6;
    if (waitMs > 0.02) Atomics.wait(cell, 0, 0, waitMs);
    // Announce every request that is due by now (more than one only if this thread was late).
    const t = now();
    const first = i;
    while (i < total && t0 + i * periodNs <= t + 10_000) i++;
    if (i > first) parentPort.postMessage([first, i]);
  }
  parentPort.postMessage('done');
} else {
  const cfg = JSON.parse(process.argv[2]);
  const { port, host, rate, durationS, connections, timeline = false } = cfg;
  // The first second (at most 10%) is paced like the rest but not recorded: the client's own JIT
  // warm-up would otherwise show up as target latency. (Timeline mode records everything.)
  const warm = timeline ? 0 : Math.min(Math.round(rate), Math.floor(rate * durationS * 0.1));
  const total = Math.max(1, Math.round(rate * durationS)) + warm;
  const periodNs = 1e9 / rate;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'fifo' });
  const fromDue = new Float64Array(total); // ms
  const fromSend = new Float64Array(total); // ms
  const sendLag = new Float64Array(total); // ms between due time and the request being handed to the socket layer
  let done = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let recorded = 0;
  // Timeline mode, per request index: latency from due time (ms; NaN = unanswered) and status (0 = error).
  const tlLatency = timeline ? new Float64Array(total).fill(NaN) : undefined;
  const tlStatus = timeline ? new Uint16Array(total) : undefined;

  const send = (due, onDone) => {
    const sent = now();
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent, headers: { host }, timeout: 10_000 }, (res) => {
      res.on('data', () => {});
      res.on('end', () => onDone(res.statusCode, due, sent));
      res.on('error', () => onDone(0, due, sent));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => onDone(0, due, sent));
    req.end();
  };

  // Open every connection first (unmeasured), so the measured part never pays for connect.
  if (!timeline) await Promise.all(Array.from({ length: connections }, () => new Promise((resolve) => send(0, resolve))));

  let finishMeasured;
  const allDone = new Promise((resolve) => {
    finishMeasured = resolve;
  });
  const onWarmDone = (status) => {
    if (status < 200 || status >= 300) status === 0 ? errors++ : non2xx++;
    if (++done === total) finishMeasured();
  };
  const onDone = (status, due, sent) => {
    const t = now();
    if (timeline) {
      const i = Math.round((due - t0) / periodNs);
      tlLatency[i] = (t - due) / 1e6;
      tlStatus[i] = status;
    }
    if (status >= 200 && status < 300) {
      ok++;
      fromDue[recorded] = (t - due) / 1e6;
      fromSend[recorded] = (t - sent) / 1e6;
      sendLag[recorded] = (sent - due) / 1e6;
      recorded++;
    } else if (status === 0) errors++;
    else non2xx++;
    if (++done === total) finishMeasured();
  };

  const ticker = new Worker(new URL(import.meta.url), { workerData: { periodNs, total } });
  await new Promise((resolve) => ticker.once('online', resolve));
  const t0 = now() + 20e6; // 20 ms from now
  const t0EpochMs = Date.now() + (t0 - now()) / 1e6;
  ticker.postMessage(t0);
  ticker.on('message', (msg) => {
    if (msg === 'done') return;
    for (let i = msg[0]; i < msg[1]; i++) send(t0 + i * periodNs, i < warm ? onWarmDone : onDone);
  });
  const started = Date.now();
  const timeout = new Promise((resolve) => setTimeout(resolve, durationS * 1000 + 15_000).unref());
  await Promise.race([allDone, timeout]);
  const wallS = (Date.now() - started) / 1000;
  await ticker.terminate();
  agent.destroy();

  const pct = (arr, ps) => {
    const sorted = arr.slice(0, recorded).sort();
    return Object.fromEntries(ps.map((p) => [`p${p}`, sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null]));
  };
  const ps = [50, 90, 99, 99.9];
  process.stdout.write(
    JSON.stringify({
      rate,
      durationS,
      connections,
      total,
      warmUp: warm,
      completed: done,
      ok,
      non2xx,
      errors,
      unfinished: total - done,
      achievedRps: done / wallS,
      latencyMs: { ...pct(fromDue, ps), max: recorded ? Math.max(...fromDue.slice(0, recorded)) : null },
      serviceMs: pct(fromSend, ps),
      sendLagMs: pct(sendLag, [50, 99]),
      clientCpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      ...(timeline
        ? {
            t0EpochMs,
            periodMs: periodNs / 1e6,
            timeline: { latencyMs: Array.from(tlLatency, (v) => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000)), status: Array.from(tlStatus) },
          }
        : {}),
    }) + '\n',
    // Exit only once the line is out: a large (timeline) line to a pipe is written asynchronously.
    () => process.exit(0),
  );
}
