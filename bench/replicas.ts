// Replicas on Redis against the embedded store (docs/replicas.md): push rate and p99 of all
// replicas together, scrape time, how soon each replica applies the others' changes (feed lag,
// from the replicas' own pushgateway_redis_feed_lag_seconds, and end to end from outside:
// lagprobe.ts), Redis memory per stored series and replica RSS. Pushes of 10 series to 1,000
// groups per replica from a forked load generator: closed loop (as fast as taken), and for 3
// replicas also open loop at a fixed rate well under that. Part of `npm run bench` (replicasState:
// the embedded store as the baseline of the closed-loop rows; the reference has no replicas), or alone:
// node dist/bench/replicas.js [--quick], or the lag against the offered rate:
// node dist/bench/replicas.js --rates=100,200,400,closed [--seconds=5] [--poll=ms of the lag probe]
import { createConnection } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startRedis, type RunningRedis } from '../test/support/redis.js';
import { send } from '../test/support/http.js';
import { start, stopAll } from './gateways.js';
import { runLoad, type StreamSpec } from './load.js';
import { quantile, startLagProbe } from './lagprobe.js';
import type { RunningServer } from '../test/support/servers.js';
import {
  finish,
  newResult,
  wanted,
  type BenchConfig,
  type BenchOutput,
  type MetricDef,
  type Round,
} from './scenarios.js';

const CONNECTIONS = 12;
/** Offered rate of the open-loop row, well under what 3 replicas take on 2 cores (~800/s). */
const OPEN_RATE = 400;
const body = Array.from({ length: 10 }, (_, i) => `bench_value{series="${i}"} ${i}`).join('\n') + '\n';

function pushStream(
  gw: RunningServer,
  connections: number,
  first: number,
  durationMs: number,
  ratePerSec: number | undefined,
): StreamSpec {
  return {
    ...(ratePerSec === undefined ? {} : { ratePerSec }),
    name: 'push',
    method: 'PUT',
    port: gw.port,
    path: '/metrics/job/bench/instance/{n}',
    first,
    cycle: 1000,
    body,
    connections,
    durationMs,
    maxRequests: 1_000_000,
    timeoutMs: 10_000,
  };
}

async function selfMetric(gw: RunningServer, name: string): Promise<string> {
  return (await send(gw.url, 'GET', '/metrics')).body
    .toString()
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

/** Quantile q (ms) of a histogram summed over replicas, interpolated within its bucket as histogram_quantile does. */
function bucketQuantile(texts: string[], name: string, q: number): number {
  const buckets = new Map<number, number>();
  for (const t of texts) {
    for (const m of t.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const at = sorted.findIndex(([, n]) => n >= q * total);
  const [upper, count] = sorted[at];
  const [lower, below] = at === 0 ? [0, 0] : sorted[at - 1];
  if (upper === Infinity) return lower * 1000;
  return (lower + ((upper - lower) * (q * total - below)) / Math.max(1, count - below)) * 1000;
}

function redisInfo(redis: RunningRedis): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: redis.port }, () => s.write('INFO memory\r\n'));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
      if (out.includes('\r\n', out.indexOf('used_memory_dataset:'))) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

/**
 * One window: closed-loop pushes, or `ratePerSec` pushes/s offered in all (open loop). With more
 * than one replica, the lag is also probed end to end from outside (lagprobe.ts).
 */
async function measure(
  replicas: number,
  durationMs: number,
  ratePerSec?: number,
  pollMs?: number,
): Promise<Record<string, number>> {
  const redis = replicas > 0 ? await startRedis() : undefined;
  try {
    const flags = redis === undefined ? [] : [`--storage.redis.url=${redis.url}`, '--web.enable-admin-api'];
    const gws = await Promise.all(Array.from({ length: Math.max(1, replicas) }, () => start('ours', flags)));
    const per = Math.floor(CONNECTIONS / gws.length);
    const rate = ratePerSec === undefined ? undefined : ratePerSec / gws.length;
    const cpuSeconds = () =>
      Promise.all(gws.map(async (g) => Number((await selfMetric(g, 'process_cpu_seconds_total')).split(' ')[1])));
    const cpuBefore = await cpuSeconds();
    const probe = replicas > 1 ? startLagProbe(gws, undefined, undefined, pollMs) : undefined;
    const loadStarted = performance.now();
    const result = await runLoad({ streams: gws.map((g, i) => pushStream(g, per, i * 1000, durationMs, rate)) });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const probed = (await probe?.stop()) ?? [];
    const probeReads = probe?.reads ?? NaN;
    const cpuAfter = await cpuSeconds();
    // The event-loop delay p99 over the window (prom-client resets it at each scrape); the worst replica.
    const loops = await Promise.all(gws.map((g) => selfMetric(g, 'nodejs_eventloop_lag_p99_seconds')));
    const ok = result.streams.reduce((n, s) => n + s.okPerSec, 0);
    const p99 = Math.max(...result.streams.map((s) => s.latencyMs.p99));
    const t = performance.now();
    for (let i = 0; i < 5; i++) await send(gws[0].url, 'GET', '/metrics');
    const scrapeMs = (performance.now() - t) / 5;
    const texts = await Promise.all(gws.map((g) => selfMetric(g, 'pushgateway_redis_feed_lag_seconds')));
    const rss = await Promise.all(gws.map((g) => selfMetric(g, 'process_resident_memory_bytes')));
    let redisBytesPerSeries = NaN;
    if (redis !== undefined) {
      const info = await redisInfo(redis);
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
      // 3,000 groups at most (1,000 per replica), 12 series each with the push times; the lag
      // probe's groups hold 3.
      const api = JSON.parse((await send(gws[0].url, 'GET', '/api/v1/metrics')).body.toString()) as {
        data: Array<{ labels: Record<string, string> }>;
      };
      const series = api.data.reduce((n, g) => n + (g.labels.job === 'lagprobe' ? 3 : 12), 0);
      redisBytesPerSeries = Math.round(used / series);
    }
    const rssMiB = rss.map((r) => Number(r.split(' ')[1]) / 2 ** 20);
    const failed = result.streams.reduce((n, x) => n + x.requests - x.ok, 0);
    return {
      pushesPerSec: ok,
      p99Ms: p99,
      scrapeMs,
      // One replica applies its own changes at once: propagation is between replicas.
      lagP50Ms: replicas > 1 ? bucketQuantile(texts, 'pushgateway_redis_feed_lag_seconds', 0.5) : NaN,
      lagP99Ms: replicas > 1 ? bucketQuantile(texts, 'pushgateway_redis_feed_lag_seconds', 0.99) : NaN,
      e2eP50Ms: quantile(probed, 0.5),
      e2eP99Ms: quantile(probed, 0.99),
      redisBytesPerSeries,
      rssMiB: rssMiB.reduce((a, b) => a + b, 0) / rssMiB.length,
      probeReadsPerSec: probeReads / loadSeconds,
      loopP99Ms: Math.max(...loops.map((l) => Number(l.split(' ')[1]) * 1000)),
      cpuShare: cpuAfter.reduce((n, c, i) => n + (c - cpuBefore[i]), 0) / cpuAfter.length / loadSeconds,
      failed,
      loadAvg1: loadavg()[0],
    };
  } finally {
    await stopAll();
    await redis?.cleanup();
  }
}

const METRICS: MetricDef[] = [
  { key: 'pushesPerSec', label: 'pushes/s (all replicas)', unit: '/s', better: 'higher' },
  { key: 'p99Ms', label: 'push p99', unit: 'ms', better: 'lower' },
  { key: 'scrapeMs', label: 'scrape time', unit: 'ms', better: 'lower' },
  { key: 'lagP50Ms', label: 'propagation lag p50', unit: 'ms', better: 'none' },
  { key: 'lagP99Ms', label: 'propagation lag p99 (target ≤ 100)', unit: 'ms', better: 'none' },
  { key: 'e2eP50Ms', label: 'propagation lag p50, end to end from outside', unit: 'ms', better: 'none' },
  { key: 'e2eP99Ms', label: 'propagation lag p99, end to end from outside', unit: 'ms', better: 'none' },
  { key: 'redisBytesPerSeries', label: 'Redis memory per stored series', unit: 'B', better: 'none' },
  { key: 'rssMiB', label: 'RSS per replica', unit: 'MiB', better: 'lower' },
  { key: 'probeReadsPerSec', label: 'lag probe reads/s (all replicas)', unit: '/s', better: 'none' },
  { key: 'loopP99Ms', label: 'event-loop delay p99, worst replica', unit: 'ms', better: 'lower' },
  { key: 'cpuShare', label: 'CPU per replica during the window (1 = a core)', unit: '', better: 'none' },
  { key: 'loadAvg1', label: '1-min load average after the window', unit: '', better: 'none' },
];

function asRound(values: Record<string, number>, n: number, position: number, wallMs: number): Round {
  const { failed, ...kept } = values;
  return {
    round: n,
    position,
    values: kept,
    statuses: {},
    errors: failed > 0 ? { 'pushes not answered 200': failed } : {},
    samples: [],
    non2xx: failed,
    loadCpuMs: NaN,
    serverCpuMs: NaN,
    wallMs,
  };
}

/**
 * The bench scenarios `replicas-1` and `replicas-3`: ours on Redis against ours on the embedded
 * store under the same push load (the reference has no replicas), in alternating rounds, each
 * window with a fresh Redis and fresh gateways.
 */
export async function replicasState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const durationMs = cfg.quick ? 1000 : cfg.durationMs;
  const rounds = cfg.quick ? 1 : Math.min(cfg.rounds, 3);
  const lag =
    "Lag: commit in Redis → applied by another replica (the replicas' pushgateway_redis_feed_lag_seconds, " +
    'interpolated), and end to end from outside (a new group pushed to one replica every 25 ms, from its 200 ' +
    'until each other replica lists it).';
  const scenarios = [
    { replicas: 1, id: 'replicas-1', title: '1 replica on Redis' },
    { replicas: 3, id: 'replicas-3', title: '3 replicas on one Redis' },
    { replicas: 3, id: 'replicas-3-open', title: `3 replicas on one Redis, ${OPEN_RATE} pushes/s`, rate: OPEN_RATE },
  ]
    .map((s) => ({
      ...s,
      result: newResult(
        s.id,
        s.title,
        (s.rate === undefined
          ? `PUT of 10 series to 1,000 groups per replica, ${CONNECTIONS} connections in all (closed loop: as fast ` +
            'as taken), '
          : `PUT of 10 series to 1,000 groups per replica, ${s.rate} pushes/s offered in all (open loop, spread ` +
            `over the replicas, latency from the scheduled time), `) +
          `${durationMs / 1000} s windows; ours on a fresh redis-server (no persistence)` +
          (s.rate === undefined
            ? ' against ours on the embedded store (the baseline column; the reference has no replicas). '
            : '. ') +
          `${lag} Redis memory: used_memory / stored series.`,
        METRICS,
      ),
    }))
    .filter((s) => wanted(cfg, s.result.id));
  if (scenarios.length === 0) return;
  const closed = scenarios.filter((s) => s.rate === undefined);
  const baseline: Round[] = [];
  cfg.log(`replicas: ${rounds} rounds of ${durationMs / 1000} s windows`);
  for (let n = 0; n < rounds; n++) {
    const runs = [...(closed.length > 0 ? [undefined] : []), ...scenarios];
    if (n % 2 === 1) runs.reverse();
    for (const [position, s] of runs.entries()) {
      const t = performance.now();
      const values = await measure(s?.replicas ?? 0, durationMs, s?.rate);
      const round = asRound(values, n, position, performance.now() - t);
      if (s === undefined) baseline.push(round);
      else s.result.rounds.ours.push(round);
      cfg.log(
        `  round ${n + 1}/${rounds} ${s?.title ?? 'embedded store'}: ` +
          `${Math.round(values.pushesPerSec)} pushes/s, p99 ${values.p99Ms.toFixed(1)} ms, ` +
          `lag p50/p99 ${values.lagP50Ms.toFixed(1)}/${values.lagP99Ms.toFixed(1)} ms, ` +
          `end to end ${values.e2eP50Ms.toFixed(1)}/${values.e2eP99Ms.toFixed(1)} ms, load ${values.loadAvg1.toFixed(2)}`,
      );
    }
  }
  for (const { result, rate } of scenarios) {
    result.skipped.reference = 'the reference has no replicas';
    if (rate === undefined) result.baseline = { label: 'embedded store', rounds: baseline, median: {} };
    out.scenarios.push(finish(result));
  }
}

/**
 * Propagation lag of 3 replicas against the offered push rate (open loop; 'closed': as fast as
 * taken): whether the lag's tail follows the load on the CPU rather than the feed.
 */
async function sweep(rates: Array<number | undefined>, durationMs: number, pollMs?: number): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  for (const rate of rates) {
    const v = await measure(3, durationMs, rate, pollMs);
    const round = (x: number) => Math.round(x * 10) / 10;
    rows.push({
      offered: rate === undefined ? 'closed loop' : `${rate}/s`,
      'pushes/s': round(v.pushesPerSec),
      'lag p50': round(v.lagP50Ms),
      'lag p99': round(v.lagP99Ms),
      'e2e p99': round(v.e2eP99Ms),
      'loop p99': round(v.loopP99Ms),
      'probe reads/s': Math.round(v.probeReadsPerSec),
      'cpu/replica': Math.round(v.cpuShare * 100) / 100,
      load: round(v.loadAvg1),
      failed: v.failed,
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
  console.table(rows);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.some((a) => a.startsWith('--rates='))) {
  // node dist/bench/replicas.js --rates=100,200,400,closed [--seconds=5] [--poll=ms of the lag probe]
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const rates = arg('rates')!
    .split(',')
    .map((r) => (r === 'closed' ? undefined : Number(r)));
  const poll = arg('poll');
  await sweep(rates, Number(arg('seconds') ?? '5') * 1000, poll === undefined ? undefined : Number(poll));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const rows: Array<Record<string, string | number>> = [];
  for (const [replicas, rate] of [[0], [1], [3], [3, OPEN_RATE]]) {
    const v = await measure(replicas, quick ? 1000 : 5000, rate);
    const name = replicas === 0 ? 'embedded store' : `${replicas} replica(s) on Redis`;
    rows.push({ scenario: rate === undefined ? name : `${name}, ${rate}/s`, ...v });
  }
  console.table(rows);
}
