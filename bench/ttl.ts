// `node dist/bench/ttl.js [--quick] [--rounds=N]`: group expiry at scale, in-process on the store (docs/expiry.md).
// 100,000 groups with TTLs of 1-60 s are re-pushed round-robin as fast as the store takes them;
// a tenth of them are never pushed again after the first round and must expire. Measured: the
// expiry lag (removal time minus deadline, p50/p99/max) and the push rate against the same load
// without TTLs, in alternating windows. In-process, so that the cost of the deadline heap is not
// hidden behind HTTP's (a push over HTTP costs ~50x a store write). `--quick`: 2,000 groups,
// TTLs of 1-3 s.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { MemoryStore } from '../src/store/memory.js';
import type { MetricFamily } from '../src/model.js';

const quick = process.argv.includes('--quick');
const GROUPS = quick ? 2000 : 100_000;
const MAX_TTL_S = quick ? 3 : 60;
const WINDOW_MS = (MAX_TTL_S + 2) * 1000;
// Writes between turns of the event loop: over HTTP every push is a task of its own.
const BATCH = 50;

const family = (v: number): MetricFamily[] => [
  { name: 'job_last_run_seconds', type: 'gauge', metrics: [{ labels: [{ name: 'step', value: 'a' }], value: v }] },
];
const labels = Array.from({ length: GROUPS }, (_, i) => ({ job: 'ttl', instance: `host-${i}` }));
const ttlOf = (i: number) => 1000 * (1 + (i % MAX_TTL_S));
/** Every tenth group is pushed once and then left to expire. */
const dies = (i: number) => i % 10 === 0;

interface Result {
  ttl: boolean;
  pushesPerS: number;
  expired: number;
  /** Groups left to expire (those that expired during the preload are not among them), and how many did. */
  left: number;
  lagged: number;
  lagMs: { p50: number; p99: number; max: number } | undefined;
  /** Event-loop delay during the window (p99, max): a timer cannot fire sooner than the loop lets it. */
  loopDelayMs: { p99: number; max: number };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function run(ttl: boolean): Promise<Result> {
  const store = new MemoryStore();
  const deadlines = new Map<string, number>();
  const lags: number[] = [];
  store.subscribe((c) => {
    if (c.record === undefined || !('delete' in c.record)) return;
    const d = deadlines.get(c.groupId);
    if (d !== undefined) lags.push(Date.now() - d);
  });
  for (let i = 0; i < GROUPS; i++) {
    await store.write({
      labels: labels[i],
      families: family(i),
      replace: true,
      check: true,
      ttlMs: ttl ? ttlOf(i) : undefined,
    });
    if (i % BATCH === 0) await turn();
  }
  // The lag is measured on the groups left to expire, whose deadline no push moves.
  if (ttl) {
    for (const g of store.groups()) {
      if (dies(Number(g.labels.instance.slice(5)))) deadlines.set(g.id, store.expiry.deadline(g)!);
    }
  }
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const start = Date.now();
  let pushes = 0;
  let i = 0;
  while (Date.now() - start < WINDOW_MS) {
    for (let b = 0; b < BATCH; b++) {
      i = (i + 1) % GROUPS;
      if (dies(i)) continue;
      // Re-pushed without the header: the group keeps its TTL, its deadline moves on.
      await store.write({ labels: labels[i], families: family(pushes), replace: true, check: true });
      pushes++;
    }
    await turn();
  }
  const elapsed = Date.now() - start;
  loop.disable();
  await store.close();
  lags.sort((a, b) => a - b);
  return {
    ttl,
    pushesPerS: Math.round((pushes / elapsed) * 1000),
    expired: store.expiry.expired,
    left: deadlines.size,
    lagged: lags.length,
    loopDelayMs: { p99: Math.round(loop.percentile(99) / 1e6), max: Math.round(loop.max / 1e6) },
    lagMs: lags.length === 0 ? undefined : { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: lags.at(-1)! },
  };
}

const results: Result[] = [];
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArg === undefined ? 2 : Math.max(1, Number(roundsArg.slice(9)) || 1);
for (const ttl of Array.from({ length: 2 * rounds }, (_, k) => k % 2 === 1)) {
  const r = await run(ttl);
  results.push(r);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
const rate = (ttl: boolean) => {
  const rates = results.filter((r) => r.ttl === ttl).map((r) => r.pushesPerS);
  return rates.reduce((a, b) => a + b, 0) / rates.length;
};
const withTtl = results.filter((r) => r.ttl);
process.stdout.write(
  `groups ${GROUPS}, TTLs 1-${MAX_TTL_S} s, windows of ${WINDOW_MS / 1000} s: ` +
    `push rate with TTLs / without = ${(rate(true) / rate(false)).toFixed(3)}; ` +
    `expired in the window ${withTtl.map((r) => `${r.lagged} of ${r.left}`).join(', ')} left to expire; ` +
    `lag p99 ${withTtl.map((r) => r.lagMs?.p99).join(', ')} ms, max ${withTtl.map((r) => r.lagMs?.max).join(', ')} ms\n`,
);
