// One large push (issue #12): the time a PUT of 250,000 or 1,000,000 series takes, and how health
// checks fare meanwhile. A liveness probe that times out restarts the pod and loses the store, so
// the probe's latency during the push matters as much as the push's own time.
import { request } from 'node:http';
import { cpuMs, KINDS, loadAvg1, rssMiB, start, stop, type Kind } from './gateways.js';
import { finish, newResult, wanted, type BenchConfig, type BenchOutput, type Round } from './scenarios.js';
import { loadAvgNote } from './users.js';

/** The body: one gauge family whose series differ by two labels, as a big batch job pushes them. */
export function bigBody(series: number): Buffer {
  const parts = ['# HELP big_gauge One value per item of a big batch.\n# TYPE big_gauge gauge\n'];
  for (let i = 0; i < series; i++) parts.push(`big_gauge{item="item-${i}",shard="${i % 64}"} ${i * 0.5}\n`);
  return Buffer.from(parts.join(''));
}

/** One request over a fresh connection; resolves with its status and milliseconds. */
function timed(port: number, method: string, path: string, body?: Buffer, timeoutMs = 30_000) {
  return new Promise<{ status: number; ms: number }>((resolve) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(body);
  });
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export async function bigPushState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  for (const series of cfg.quick ? [250_000] : [250_000, 1_000_000]) {
    const label = series >= 1e6 ? `${series / 1e6}m` : `${series / 1000}k`;
    const res = newResult(
      `bigpush-${label}`,
      `One push of ${series.toLocaleString('en-US')} series, health checks meanwhile`,
      `PUT of one ${series.toLocaleString('en-US')}-series text body (one gauge family) to an empty gateway, while ` +
        'GET /-/healthy runs every 20 ms on fresh connections (each waits for the previous one)',
      [
        { key: 'pushSeconds', label: 'push time', unit: 's', better: 'lower' },
        { key: 'healthP99Ms', label: '/-/healthy p99 during the push', unit: 'ms', better: 'lower' },
        { key: 'healthMaxMs', label: '/-/healthy max during the push', unit: 'ms', better: 'lower' },
        { key: 'rssMiB', label: 'RSS after the push', unit: 'MiB', better: 'lower' },
      ],
    );
    if (!wanted(cfg, res.id)) continue;
    const body = bigBody(series);
    cfg.log(`bigpush: ${series} series, ${(body.length / 1048576).toFixed(1)} MiB`);
    for (let round = 0; round < cfg.rounds; round++) {
      for (let position = 0; position < KINDS.length; position++) {
        const kind: Kind = KINDS[(round + position) % KINDS.length];
        const s = await start(kind);
        try {
          const c0 = cpuMs(s);
          const health: number[] = [];
          let pushing = true;
          let failures = 0;
          const prober = (async () => {
            while (pushing) {
              const r = await timed(s.port, 'GET', '/-/healthy');
              if (r.status !== 200) failures++;
              health.push(r.ms);
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })();
          const push = await timed(s.port, 'PUT', '/metrics/job/bigpush', body, 600_000);
          pushing = false;
          await prober;
          const r: Round = {
            round,
            position,
            values: {
              pushSeconds: push.ms / 1000,
              healthP99Ms: quantile(health, 0.99),
              healthMaxMs: Math.max(...health),
              rssMiB: rssMiB(s),
              loadAvg1: loadAvg1(),
            },
            statuses: { [`push ${push.status}`]: 1, 'health 200': health.length - failures },
            errors: failures ? { 'health not 200': failures } : {},
            samples: [],
            non2xx: (push.status === 200 ? 0 : 1) + failures,
            loadCpuMs: NaN,
            serverCpuMs: cpuMs(s) - c0,
            wallMs: push.ms,
            ...(push.status === 200 ? {} : { failure: `push answered ${push.status}` }),
          };
          res.rounds[kind].push(r);
          cfg.log(
            `  round ${round + 1}/${cfg.rounds} ${res.id} ${kind.padEnd(9)} push=${(push.ms / 1000).toFixed(2)} s ` +
              `health p99=${r.values.healthP99Ms.toFixed(0)} ms max=${r.values.healthMaxMs.toFixed(0)} ms (${health.length} probes)`,
          );
        } finally {
          await stop(s);
        }
      }
    }
    finish(res);
    loadAvgNote(res);
    out.scenarios.push(res);
  }
}
