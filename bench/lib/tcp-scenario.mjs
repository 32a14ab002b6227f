// The TCP scenario (bench/README.md, "TCP scenario"): a TCP echo/stream upstream reached directly,
// through Outrigger's tcp_proxy (current build, and the baseline build), and through nginx
// `stream`; bulk throughput and small-message round trips, interleaved over rounds.
import { fileURLToPath } from 'node:url';
import { sleep } from './children.mjs';
import { freePort } from './net-util.mjs';
import { treeCpuSeconds } from './proc.mjs';
import { ratio, summary } from './stats.mjs';

const ECHO_SERVER = fileURLToPath(new URL('./tcp-echo-server.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('./tcp-client.mjs', import.meta.url));

/** Runs tcp-client.mjs with cfg and returns its JSON line (or { failed }). */
export function runTcpClient(registry, cfg) {
  return new Promise((resolve) => {
    const entry = registry.spawn('tcp-client', process.execPath, [CLIENT, JSON.stringify(cfg)]);
    let out = '';
    entry.child.stdout.on('data', (c) => {
      out += c;
    });
    const stdoutEnd = new Promise((r) => entry.child.stdout.once('close', r));
    Promise.all([entry.exitPromise, Promise.race([stdoutEnd, sleep(5000)])]).then(async () => {
      await registry.stop(entry);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        resolve({ failed: `tcp client failed: ${entry.output.slice(-300) || 'no output'}` });
      }
    });
  });
}

/** Polls until the echo upstream answers (or 10 s pass). */
async function waitForEcho(registry, port, entry) {
  const deadline = Date.now() + 10_000;
  let last;
  while (Date.now() < deadline && !entry.exited) {
    last = await runTcpClient(registry, { mode: 'check', port });
    if (last.ok) return { ok: true };
    await sleep(100);
  }
  return { ok: false, reason: last?.failed ?? `exited (code ${entry.exitCode})` };
}

/**
 * outriggers: [{ name, start: () => target }] where start() returns a started Outrigger (as
 * run.mjs's startOutrigger) with the TCP config. nginxStream: { bin, loadModule } or { missing }.
 */
export async function runTcpScenario(cfg, { registry, log, outriggers, nginxStream, startNginxStream, beforeMeasure }) {
  const upstreamPort = await freePort();
  const upstream = registry.spawn('tcp-upstream', process.execPath, [ECHO_SERVER, String(upstreamPort)]);
  const up = await waitForEcho(registry, upstreamPort, upstream);
  if (!up.ok) throw new Error(`TCP echo upstream did not start: ${up.reason}`);
  log(`tcp: echo upstream on 127.0.0.1:${upstreamPort}`);

  const targets = [{ name: 'direct', port: upstreamPort, entry: upstream, available: true }];
  for (const o of outriggers) {
    const t = await o.start(upstreamPort);
    if (!t.available) {
      targets.push({ name: o.name, available: false, reason: t.reason });
      continue;
    }
    const check = await runTcpClient(registry, { mode: 'check', port: t.port });
    if (!check.ok) {
      // A build without tcp_proxy starts fine but skips the TCP port: say so, do not crash.
      // Its own words about the port, without the log line's time stamp and file path.
      const said = t.entry.output.split('\n').filter((l) => /tcp/i.test(l)).slice(-1)[0]?.replace(/^.*?warning:\s*/, '').trim();
      targets.push({ name: o.name, available: false, reason: `tcp_proxy not available in this build (${check.failed}${said ? `; outrigger said: ${said.slice(0, 200)}` : ''})` });
      await registry.stop(t.entry);
      continue;
    }
    targets.push({ ...t, name: o.name });
  }
  if (nginxStream.missing) {
    targets.push({ name: 'nginx-stream', available: false, reason: nginxStream.missing });
  } else {
    const t = await startNginxStream(upstreamPort);
    const check = t.available ? await runTcpClient(registry, { mode: 'check', port: t.port }) : { failed: t.reason };
    if (!check.ok) {
      targets.push({ name: 'nginx-stream', available: false, reason: `${check.failed}${t.entry ? ` ${t.entry.output.slice(-200)}` : ''}` });
      if (t.entry) await registry.stop(t.entry);
    } else targets.push({ ...t, name: 'nginx-stream' });
  }
  for (const t of targets.filter((x) => !x.available)) log(`tcp ${t.name}: not available (${t.reason})`);

  const live = targets.filter((t) => t.available);
  const bytes = Math.round(cfg.tcpBulkMiB * 1024 * 1024);
  const rounds = [];
  for (let r = 0; r < cfg.tcpRounds; r++) {
    const order = live.map((_, i) => live[(i + r) % live.length]);
    const results = {};
    for (const t of order) {
      if (t.entry.exited) {
        results[t.name] = { failed: `process exited (code ${t.entry.exitCode}, signal ${t.entry.signal})` };
        continue;
      }
      const proxyCpu = () => (t.entry === upstream ? 0 : treeCpuSeconds(t.entry.child.pid));
      await beforeMeasure?.();
      log(`tcp round ${r + 1}/${cfg.tcpRounds} ${t.name}: bulk ${cfg.tcpBulkMiB} MiB, echo 1 and ${cfg.tcpConnections} connections × ${cfg.tcpDurationS} s`);
      let c0 = proxyCpu();
      const bulk = await runTcpClient(registry, { mode: 'bulk', port: t.port, bytes });
      const bulkCpuS = proxyCpu() - c0;
      const echo1 = await runTcpClient(registry, { mode: 'echo', port: t.port, connections: 1, durationS: cfg.tcpDurationS, size: cfg.tcpMessageBytes });
      c0 = proxyCpu();
      const echoN = await runTcpClient(registry, { mode: 'echo', port: t.port, connections: cfg.tcpConnections, durationS: cfg.tcpDurationS, size: cfg.tcpMessageBytes });
      const echoNCpuS = proxyCpu() - c0;
      results[t.name] = {
        bulk,
        echo1,
        echoN,
        cpuPerGB: bulk.bytes && !bulk.failed ? bulkCpuS / (bulk.bytes / 1e9) : null,
        // The N-connection run includes its 0.5 s unrecorded warm-up in the CPU: per message, an upper bound.
        cpuPer100kMsgs: echoN.messages ? (echoNCpuS / echoN.messages) * 1e5 : null,
      };
      await sleep(300);
    }
    for (const [name, x] of Object.entries(results)) {
      if (x.failed || name === 'direct') continue;
      const d = results.direct;
      const n = results['nginx-stream'];
      x.derived = {
        mbpsVsDirect: ratio(x.bulk?.mbps, d?.bulk?.mbps),
        addedP50Us: typeof x.echo1?.p50 === 'number' && typeof d?.echo1?.p50 === 'number' ? (x.echo1.p50 - d.echo1.p50) * 1000 : null,
        rateVsDirect: ratio(x.echoN?.rate, d?.echoN?.rate),
        cpuPerGBVsNginx: name === 'nginx-stream' ? null : ratio(x.cpuPerGB, n?.cpuPerGB),
        cpuPerMsgVsNginx: name === 'nginx-stream' ? null : ratio(x.cpuPer100kMsgs, n?.cpuPer100kMsgs),
      };
    }
    rounds.push({ round: r + 1, order: order.map((t) => t.name), results });
  }
  for (const t of targets) if (t.entry && t.entry !== upstream) await registry.stop(t.entry);
  await registry.stop(upstream);
  return {
    settings: { rounds: cfg.tcpRounds, bulkMiB: cfg.tcpBulkMiB, durationS: cfg.tcpDurationS, connections: cfg.tcpConnections, messageBytes: cfg.tcpMessageBytes },
    targets: targets.map(({ entry, ...t }) => t),
    rounds,
  };
}

function fmt(s, digits = 2) {
  if (!s) return '—';
  const f = (v) => v.toFixed(digits);
  return s.n > 1 && f(s.min) !== f(s.max) ? `${f(s.median)} [${f(s.min)}–${f(s.max)}]` : f(s.median);
}

export function renderTcp(res) {
  const s = res.settings;
  const L = [];
  L.push(`### TCP: tcp_proxy vs direct vs nginx stream`, '');
  L.push(
    `Upstream: a Node TCP echo/stream server (\`lib/tcp-echo-server.mjs\`). Per round and target: one bulk transfer of ${s.bulkMiB} MiB upstream → client on one connection; small-message round trips (${s.messageBytes} bytes echoed, closed loop) on 1 persistent connection (latency) and on ${s.connections} (throughput), ${s.durationS} s each. ${s.rounds} rounds, order rotated; cells: median over rounds [min–max], ratios taken inside a round. Outrigger: 1 worker, Sidecar egress listener with a \`protocol: TCP\` port → outbound|PORT||echo.bench.svc.cluster.local; nginx: \`stream { proxy_pass }\`, 1 worker.`,
    '',
  );
  for (const t of res.targets.filter((x) => !x.available)) L.push(`- **${t.name}: not available** (${t.reason})`);
  if (res.targets.some((x) => !x.available)) L.push('');
  L.push(
    `| target | bulk MB/s | × direct | proxy CPU s per GB | × nginx | RTT p50 µs (1 conn) | RTT p99 µs | added p50 µs | msgs/s (${s.connections} conns) | × direct | proxy CPU s per 100k msgs | × nginx |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const t of res.targets.filter((x) => x.available)) {
    const rs = res.rounds.map((r) => r.results[t.name]).filter((x) => x && !x.failed);
    const pick = (f) => summary(rs.map(f));
    const direct = t.name === 'direct';
    const us = (v) => (typeof v === 'number' ? v * 1000 : null);
    const bad = rs.some((x) => x.bulk?.failed || x.echo1?.failed || x.echoN?.failed || x.echo1?.errors || x.echoN?.errors) ? ' ⚠' : '';
    L.push(
      `| ${t.name}${bad} | ${fmt(pick((x) => x.bulk?.mbps), 0)} | ${direct ? '—' : fmt(pick((x) => x.derived?.mbpsVsDirect))} | ${direct ? '—' : fmt(pick((x) => x.cpuPerGB), 3)} | ${direct || t.name === 'nginx-stream' ? '—' : fmt(pick((x) => x.derived?.cpuPerGBVsNginx))} | ${fmt(pick((x) => us(x.echo1?.p50)), 1)} | ${fmt(pick((x) => us(x.echo1?.p99)), 1)} | ${direct ? '—' : fmt(pick((x) => x.derived?.addedP50Us), 1)} | ${fmt(pick((x) => x.echoN?.rate), 0)} | ${direct ? '—' : fmt(pick((x) => x.derived?.rateVsDirect))} | ${direct ? '—' : fmt(pick((x) => x.cpuPer100kMsgs), 3)} | ${direct || t.name === 'nginx-stream' ? '—' : fmt(pick((x) => x.derived?.cpuPerMsgVsNginx))} |`,
    );
  }
  const probs = res.rounds.flatMap((r) =>
    Object.entries(r.results).flatMap(([name, x]) =>
      x.failed
        ? [`${name}, round ${r.round}: ${x.failed}`]
        : [
            ...['bulk', 'echo1', 'echoN'].filter((k) => x[k]?.failed).map((k) => `${name}, round ${r.round}, ${k}: ${x[k].failed}`),
            ...['echo1', 'echoN'].filter((k) => x[k]?.errors).map((k) => `${name}, round ${r.round}, ${k}: ${x[k].errors} connection errors`),
          ],
    ),
  );
  if (probs.length) L.push('', '⚠ TCP problems:', '', ...probs.map((p) => `- ${p}`));
  return L.join('\n');
}

