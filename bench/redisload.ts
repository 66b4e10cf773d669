// How long a replica takes to load the whole state from Redis before it reports ready
// (docs/replicas.md): a gateway on a fresh redis-server is filled with `groups` × `series` series
// and waits until its Redis snapshot holds them all; then a second replica starts and is polled
// every 20 ms: when it answers /-/healthy, when /-/ready turns 200, the longest gap between two
// answers of /-/healthy (the event loop held), and its peak RSS (VmHWM); with --starts=N, N
// replicas one after the other on the same Redis.
// Run: node dist/bench/redisload.js [--groups=10000] [--series=100] [--starts=1]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createClient } from '@redis/client';
import { NODE_FLAGS } from '../src/nodeflags.js';
import { startRedis } from '../test/support/redis.js';
import { send } from '../test/support/http.js';
import { freePort, OURS_MAIN } from '../test/support/servers.js';
import { start, stopAll, track, stopProcess, sleep } from './gateways.js';

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 3));
}

const GROUPS = arg('groups', 10_000);
const SERIES = arg('series', 100);
/** Replicas started one after the other on the same filled Redis (the median is reported too). */
const STARTS = arg('starts', 1);

function vmHwmMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** Starts a replica on the filled Redis, polls it until ready, stops it: what it took. */
async function startReplica(redisUrl: string): Promise<Record<string, unknown>> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      // e.g. --cpu-prof --cpu-prof-dir=DIR, to see where the load goes
      ...(process.env.REPLICA_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      OURS_MAIN,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.redis.url=${redisUrl}`,
      '--persistence.file=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let healthyAt: number | undefined;
  let lastHealthy = 0;
  let maxGapMs = 0;
  let readyAt: number | undefined;
  while (readyAt === undefined) {
    if (proc.exitCode !== null) throw new Error(`the replica exited: ${out}`);
    if (performance.now() - started > 300_000) throw new Error(`not ready after 300 s: ${out}`);
    const [h, r] = await Promise.all([probe(`${url}/-/healthy`), probe(`${url}/-/ready`)]);
    const now = performance.now();
    if (h === 200) {
      healthyAt ??= now;
      if (lastHealthy > 0) maxGapMs = Math.max(maxGapMs, now - lastHealthy);
      lastHealthy = now;
    }
    if (r === 200) readyAt = now;
    else await sleep(20);
  }
  const peak = vmHwmMiB(proc.pid!);
  const loaded = /metrics loaded from Redis" groups=(\d+) series=(\d+)/.exec(out);
  await stopProcess(proc);
  return {
    healthyAfterMs: healthyAt === undefined ? null : Math.round(healthyAt - started),
    readyAfterMs: Math.round(readyAt - started),
    longestHealthyGapMs: Math.round(maxGapMs),
    peakRssMiB: Math.round(peak),
    loaded: loaded === null ? out : { groups: Number(loaded[1]), series: Number(loaded[2]) },
    loadAvg1: +loadavg()[0].toFixed(2),
    log: process.env.SHOW_LOG ? out : undefined,
  };
}

async function probe(url: string): Promise<number> {
  try {
    return (await send(url, 'GET', '')).status;
  } catch {
    return 0;
  }
}

const redis = await startRedis();
const db = createClient({ url: redis.url, RESP: 2 });
await db.connect();
try {
  const filler = await start('ours', [`--storage.redis.url=${redis.url}`]);
  const body = (g: number) =>
    `# TYPE load_value gauge\n` +
    Array.from({ length: SERIES }, (_, i) => `load_value{series="${i}"} ${g + i}`).join('\n') +
    '\n';
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let g = next++; g < GROUPS; g = next++) {
        const r = await send(filler.url, 'PUT', `/metrics/job/load/instance/i${g}`, body(g));
        if (r.status !== 200) throw new Error(`push ${g}: ${r.status} ${r.body.toString()}`);
      }
    }),
  );
  const fillS = (performance.now() - t0) / 1000;
  // The lease holder writes the snapshot every 5 s; the next replica then reads it, not the feed.
  for (;;) {
    const [v, s] = await Promise.all([db.get('pushgateway:version'), db.get('pushgateway:snapshot-version')]);
    if (v !== null && v === s) break;
    await sleep(500);
  }
  await stopAll();
  const info = await db.info('memory');
  const usedMiB = Number(/used_memory:(\d+)/.exec(info)?.[1]) / 2 ** 20;

  const runs: Array<Record<string, unknown>> = [];
  for (let n = 0; n < STARTS; n++) runs.push(await startReplica(redis.url));
  const ready = runs.map((r) => r.readyAfterMs as number).sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      groups: GROUPS,
      series: GROUPS * SERIES,
      fillSeconds: +fillS.toFixed(1),
      redisUsedMiB: +usedMiB.toFixed(1),
      ...(STARTS === 1 ? runs[0] : { readyAfterMsMedian: ready[Math.floor(ready.length / 2)], runs }),
    }) + '\n',
  );
} finally {
  db.destroy();
  await stopAll();
  await redis.cleanup();
}
