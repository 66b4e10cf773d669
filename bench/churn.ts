// The cost of a group's removal and re-creation against a re-push that replaces it (issue #14): in
// the ttl scenario, groups whose TTL is shorter than a round of re-pushes expire and are created
// again by their next push, so delete + create must cost about what a replace does. In-process on
// the store, as bench/ttl.ts measures, optionally with the scrape cache and the write-ahead log.
// `node --expose-gc dist/bench/churn.js [--groups=100000] [--ops=200000] [--rounds=3] [--cache=1] [--wal=1]`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { pino } from 'pino';
import type { MetricFamily } from '../src/model.js';
import { ScrapeCache } from '../src/expose/scrape.js';
import { DurableStore } from '../src/persist/durable.js';
import { MemoryStore } from '../src/store/memory.js';
import type { MetricStore } from '../src/store/types.js';
import { arg } from './standalone.js';

/** GC pause milliseconds (wall) by kind: scavenges apart, to tell what the churn adds. */
const gcKinds = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === 1) gcKinds.minor += e.duration;
    else gcKinds.major += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const family = (v: number): MetricFamily[] => [
  { name: 'job_last_run_seconds', type: 'gauge', metrics: [{ labels: [{ name: 'step', value: 'a' }], value: v }] },
];
// As the ttl scenario: writes between turns of the event loop.
const BATCH = 50;
// A TTL no group reaches here: the deadline bookkeeping runs, nothing expires.
const TTL_MS = 3_600_000;

interface Tally {
  cpuUs: number;
  minorMs: number;
  ops: number;
}

/** Runs `ops` operations, adding their CPU time and scavenge time to `tally`. */
async function measure(tally: Tally, from: number, ops: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const minor0 = gcKinds.minor;
  const cpu0 = process.cpuUsage();
  for (let i = from; i < from + ops; i++) {
    await op(i);
    if (i % BATCH === 0) await turn();
  }
  const cpu = process.cpuUsage(cpu0);
  await turn(); // GC entries arrive in a later turn
  tally.cpuUs += cpu.user + cpu.system;
  tally.minorMs += gcKinds.minor - minor0;
  tally.ops += ops;
}

const groups = arg('groups', 100_000);
const ops = arg('ops', 200_000);
const cache = arg('cache', 0) === 1;
const wal = arg('wal', 0) === 1;
const labels = Array.from({ length: groups }, (_, i) => ({ job: 'ttl', instance: `host-${i}` }));
const dir = wal ? mkdtempSync(path.join(tmpdir(), 'pgw-churn-')) : undefined;
const inner = new MemoryStore();
const store: MetricStore =
  dir === undefined
    ? inner
    : await DurableStore.open(inner, {
        file: path.join(dir, 'metrics.data'),
        intervalMs: 3_600_000,
        sync: true,
        startEmptyOnError: false,
        log: pino({ level: 'silent' }),
      });
const scrapes = cache ? new ScrapeCache(store) : undefined;
const write = (i: number, v: number) =>
  store.write({ labels: labels[i], families: family(v), replace: true, check: true, ttlMs: TTL_MS });
for (let i = 0; i < groups; i++) {
  await write(i, i);
  if (i % BATCH === 0) await turn();
}
// A scrape now and then (every ~5,000 ops), as Prometheus would: the cache catches up on what changed.
const scrape = (i: number) => {
  if (scrapes !== undefined && i % 5000 === 0) scrapes.parts([]);
};
// The two kinds alternate in chunks, so that the machine's load (shared) weighs on both alike.
const CHUNK = 5000;
for (let r = 0; r < arg('rounds', 3); r++) {
  const replace: Tally = { cpuUs: 0, minorMs: 0, ops: 0 };
  const churn: Tally = { cpuUs: 0, minorMs: 0, ops: 0 };
  global.gc?.();
  for (let from = 0; from < ops; from += CHUNK) {
    await measure(replace, from, CHUNK, (i) => {
      scrape(i);
      return write(i % groups, i);
    });
    await measure(churn, from, CHUNK, async (i) => {
      scrape(i);
      await store.delete(labels[i % groups]);
      return write(i % groups, i);
    });
  }
  const per = (t: Tally) =>
    `${(t.cpuUs / t.ops).toFixed(1)} µs CPU/op (scavenges ${((t.minorMs * 1000) / t.ops).toFixed(1)} µs)`;
  console.log(
    `groups ${groups}${cache ? ' +scrape cache' : ''}${wal ? ' +WAL' : ''}: replace ${per(replace)}, ` +
      `delete + create ${per(churn)}; ratio ${(churn.cpuUs / replace.cpuUs).toFixed(2)}`,
  );
}
scrapes?.close();
await store.close();
if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
