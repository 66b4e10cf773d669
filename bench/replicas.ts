// Replicas on Redis against the embedded store (docs/replicas.md): push rate and p99 of all
// replicas together, scrape time, how soon each replica applies the others' changes (feed lag,
// from the replicas' own pushgateway_redis_feed_lag_seconds), Redis memory per stored series and
// replica RSS. Closed-loop pushes of 10 series to 1,000 groups from a forked load generator.
// Run: node dist/bench/replicas.js
import { createConnection } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startRedis, type RunningRedis } from '../test/support/redis.js';
import { send } from '../test/support/http.js';
import { start, stopAll } from './gateways.js';
import { runLoad, type StreamSpec } from './load.js';
import type { RunningServer } from '../test/support/servers.js';

const DURATION_MS = Number(process.env.REPLICA_BENCH_MS ?? 8000);
const CONNECTIONS = 12;
const body = Array.from({ length: 10 }, (_, i) => `bench_value{series="${i}"} ${i}`).join('\n') + '\n';

function pushStream(gw: RunningServer, connections: number, first: number): StreamSpec {
  return {
    name: 'push',
    method: 'PUT',
    port: gw.port,
    path: '/metrics/job/bench/instance/{n}',
    first,
    cycle: 1000,
    body,
    connections,
    durationMs: DURATION_MS,
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

/** The upper bound (ms) of the histogram bucket holding quantile q, from cumulative buckets summed over replicas. */
function bucketQuantile(texts: string[], name: string, q: number): number | undefined {
  const buckets = new Map<number, number>();
  for (const t of texts) {
    for (const m of t.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  return (sorted.find(([, n]) => n >= q * total)?.[0] ?? Infinity) * 1000;
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

async function scenario(name: string, replicas: number) {
  const redis = replicas > 0 ? await startRedis() : undefined;
  try {
    const flags = redis === undefined ? [] : [`--storage.redis.url=${redis.url}`];
    const gws = await Promise.all(Array.from({ length: Math.max(1, replicas) }, () => start('ours', flags)));
    const per = Math.floor(CONNECTIONS / gws.length);
    const result = await runLoad({ streams: gws.map((g, i) => pushStream(g, per, i * 1000)) });
    const ok = result.streams.reduce((n, s) => n + s.okPerSec, 0);
    const p99 = Math.max(...result.streams.map((s) => s.latencyMs.p99));
    const t = performance.now();
    for (let i = 0; i < 5; i++) await send(gws[0].url, 'GET', '/metrics');
    const scrapeMs = (performance.now() - t) / 5;
    const texts = await Promise.all(gws.map((g) => selfMetric(g, 'pushgateway_redis_feed_lag_seconds')));
    const rss = await Promise.all(gws.map((g) => selfMetric(g, 'process_resident_memory_bytes')));
    let redisBytesPerSeries: number | undefined;
    if (redis !== undefined) {
      const info = await redisInfo(redis);
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
      // 3,000 groups at most (1,000 per replica), 12 series each with the push times.
      const groups = (await send(gws[0].url, 'GET', '/api/v1/metrics')).body.toString().split('"labels"').length - 1;
      redisBytesPerSeries = Math.round(used / (groups * 12));
    }
    const statuses = result.streams.map((s) => JSON.stringify(s.statuses)).join(' ');
    return {
      scenario: name,
      pushesPerSec: Math.round(ok),
      pushP99Ms: +p99.toFixed(1),
      scrapeMs: +scrapeMs.toFixed(1),
      feedLagP50Ms: bucketQuantile(texts, 'pushgateway_redis_feed_lag_seconds', 0.5),
      feedLagP99Ms: bucketQuantile(texts, 'pushgateway_redis_feed_lag_seconds', 0.99),
      redisBytesPerSeries,
      replicaRssMiB: rss.map((r) => Math.round(Number(r.split(' ')[1]) / 2 ** 20)).join('/'),
      statuses,
    };
  } finally {
    await stopAll();
    await redis?.cleanup();
  }
}

const rows = [];
rows.push(await scenario('embedded store', 0));
rows.push(await scenario('1 replica on Redis', 1));
rows.push(await scenario('3 replicas on one Redis', 3));
console.table(rows);
