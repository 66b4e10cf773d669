// Group expiry at scale (docs/expiry.md): the `ttl` scenario of `npm run bench`, also run alone as
// `node dist/bench/ttl.js [--quick] [--rounds=N] [--rate=N]`.
// 100,000 groups with TTLs of 1-60 s are re-pushed round-robin at the same offered rate with and
// without TTLs (--rate=0: as fast as the store takes them); a tenth of them are never pushed again
// after the first round and must expire. Measured: the expiry lag (removal time minus deadline,
// p50/p99/max) and the writes per CPU-second against the same load without TTLs, in alternating
// windows. In-process on the store, so that the cost of the deadline
// heap is not hidden behind HTTP's (a push over HTTP costs ~50x a store write); each window runs
// in a fresh node process with the gateway's node flags, so one window's heap does not slow the
// next. `--quick`: 1,000 groups, TTLs of 1-2 s.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { MetricFamily } from '../src/model.js';
import { NODE_FLAGS } from '../src/nodeflags.js';
import { MemoryStore } from '../src/store/memory.js';
import { finish, newResult, wanted, type BenchConfig, type BenchOutput, type Round } from './scenarios.js';

export interface TtlSize {
  groups: number;
  maxTtlS: number;
  /**
   * Writes offered per second, the same with and without TTLs; 0: as fast as the store takes them.
   * Unpaced, the side that is slower takes longer over a round of re-pushes, so more of its groups
   * outlive their TTL between pushes and are removed and created again: the load itself would
   * differ. Paced, every group is re-pushed at the same interval on both sides, and what TTLs
   * cost shows as CPU per write (the rate is set below what both sides sustain on the shared machine).
   */
  ratePerS: number;
}

export const TTL_FULL: TtlSize = { groups: 100_000, maxTtlS: 60, ratePerS: 4000 };
export const TTL_QUICK: TtlSize = { groups: 1000, maxTtlS: 2, ratePerS: 2000 };

// Writes between turns of the event loop: over HTTP every push is a task of its own.
const BATCH = 50;

/** One window's figures, as the child process prints them. */
export interface TtlWindow {
  ttl: boolean;
  /** Offered (0: unpaced) and achieved. */
  ratePerS: number;
  pushesPerS: number;
  expired: number;
  /** Groups left to expire (those that expired during the preload are not among them), and how many did. */
  left: number;
  lagged: number;
  lagMs: { p50: number; p99: number; max: number } | undefined;
  /** Event-loop delay during the window (p99, max): a timer cannot fire sooner than the loop lets it. */
  loopDelayMs: { p99: number; max: number };
  cpuMs: number;
  wallMs: number;
}

const family = (v: number): MetricFamily[] => [
  { name: 'job_last_run_seconds', type: 'gauge', metrics: [{ labels: [{ name: 'step', value: 'a' }], value: v }] },
];
/** Every tenth group is pushed once and then left to expire. */
const dies = (i: number) => i % 10 === 0;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** One window in this process: preload, then re-push for the longest TTL and 2 s more. */
async function window(size: TtlSize, ttl: boolean): Promise<TtlWindow> {
  const { groups, maxTtlS, ratePerS } = size;
  const labels = Array.from({ length: groups }, (_, i) => ({ job: 'ttl', instance: `host-${i}` }));
  const ttlOf = (i: number) => 1000 * (1 + (i % maxTtlS));
  const store = new MemoryStore();
  const deadlines = new Map<string, number>();
  const lags: number[] = [];
  store.subscribe((c) => {
    if (c.record === undefined || !('delete' in c.record)) return;
    const d = deadlines.get(c.groupId);
    if (d !== undefined) lags.push(Date.now() - d);
  });
  for (let i = 0; i < groups; i++) {
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
  const windowMs = (maxTtlS + 2) * 1000;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const start = Date.now();
  let pushes = 0;
  let i = 0;
  while (Date.now() - start < windowMs) {
    if (ratePerS > 0) {
      const ahead = pushes - (ratePerS * (Date.now() - start)) / 1000;
      if (ahead >= 0) {
        await sleep(Math.max(1, Math.ceil((ahead * 1000) / ratePerS)));
        continue;
      }
    }
    for (let b = 0; b < BATCH; b++) {
      i = (i + 1) % groups;
      if (dies(i)) continue;
      // Re-pushed without the header: the group keeps its TTL, its deadline moves on.
      await store.write({ labels: labels[i], families: family(pushes), replace: true, check: true });
      pushes++;
    }
    await turn();
  }
  const elapsed = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  await store.close();
  lags.sort((a, b) => a - b);
  return {
    ttl,
    ratePerS,
    pushesPerS: Math.round((pushes / elapsed) * 1000),
    expired: store.expiry.expired,
    left: deadlines.size,
    lagged: lags.length,
    loopDelayMs: { p99: Math.round(loop.percentile(99) / 1e6), max: Math.round(loop.max / 1e6) },
    lagMs: lags.length === 0 ? undefined : { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: lags.at(-1)! },
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: elapsed,
  };
}

/** One window in a fresh node process with the gateway's flags. */
function windowInChild(size: TtlSize, ttl: boolean): TtlWindow {
  const out = execFileSync(
    process.execPath,
    [
      ...NODE_FLAGS,
      fileURLToPath(import.meta.url),
      '--window',
      `--groups=${size.groups}`,
      `--max-ttl=${size.maxTtlS}`,
      `--rate=${size.ratePerS}`,
      `--ttl=${ttl ? 1 : 0}`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: (size.maxTtlS + 120) * 1000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as TtlWindow;
}

/** Writes per second of the window's CPU time: on a shared machine the OS gives windows unequal CPU. */
function perCpuS(w: TtlWindow): number {
  return Math.round((w.pushesPerS * w.wallMs) / w.cpuMs);
}

function round(w: TtlWindow, n: number, position: number): Round {
  const missed = w.left - w.lagged;
  // Short of the offered rate, this side was not given the same load as the other.
  const short = w.ratePerS > 0 && w.pushesPerS < 0.95 * w.ratePerS;
  const failure = [
    ...(missed > 0 ? [`${missed} of ${w.left} groups left to expire did not within the window`] : []),
    ...(short ? [`${w.pushesPerS} writes/s of the ${w.ratePerS} offered`] : []),
  ].join('; ');
  return {
    round: n,
    position,
    values: {
      pushesPerSec: w.pushesPerS,
      writesPerCpuS: perCpuS(w),
      lagP50Ms: w.lagMs?.p50 ?? NaN,
      lagP99Ms: w.lagMs?.p99 ?? NaN,
      lagMaxMs: w.lagMs?.max ?? NaN,
      loopP99Ms: w.loopDelayMs.p99,
      loadAvg1: loadavg()[0],
    },
    statuses: {},
    errors: {
      ...(missed > 0 ? { 'groups not expired in the window': missed } : {}),
      ...(short ? { 'offered writes not taken': Math.round((w.ratePerS - w.pushesPerS) * (w.wallMs / 1000)) } : {}),
    },
    samples: [],
    non2xx: 0,
    loadCpuMs: NaN,
    serverCpuMs: w.cpuMs,
    wallMs: w.wallMs,
    ...(failure !== '' ? { failure } : {}),
  };
}

/**
 * The bench scenario: ours with TTLs against ours under the same load without (the reference
 * has no expiry), in alternating windows; the lag rows come from the windows with TTLs.
 */
export async function ttlState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const size = cfg.quick ? TTL_QUICK : TTL_FULL;
  const k = size.groups >= 1000 ? `${size.groups / 1000}k` : String(size.groups);
  const res = newResult(
    `ttl-${k}`,
    `Expiry of ${size.groups.toLocaleString('en-US')} groups with TTLs of 1–${size.maxTtlS} s, re-pushed`,
    `${size.groups.toLocaleString('en-US')} groups (TTLs of 1–${size.maxTtlS} s) re-pushed round-robin on the store, ` +
      `${size.ratePerS.toLocaleString('en-US')} writes/s offered to both sides, in-process, ${BATCH} writes per turn; a tenth left to expire, whose lag (removal − deadline) is measured. ` +
      'Compared with the same load without TTLs (the reference has no expiry). Each window in a fresh process.',
    [
      { key: 'pushesPerSec', label: 'store writes/s (offered alike)', unit: '/s', better: 'higher' },
      { key: 'writesPerCpuS', label: 'store writes per CPU-second', unit: '/s', better: 'higher' },
      { key: 'lagP50Ms', label: 'expiry lag p50', unit: 'ms', better: 'none' },
      { key: 'lagP99Ms', label: 'expiry lag p99 (target ≤ 1,000)', unit: 'ms', better: 'none' },
      { key: 'lagMaxMs', label: 'expiry lag max', unit: 'ms', better: 'none' },
      { key: 'loopP99Ms', label: 'event-loop delay p99', unit: 'ms', better: 'none' },
      { key: 'loadAvg1', label: '1-min load average after the window', unit: '', better: 'none' },
    ],
  );
  if (!wanted(cfg, res.id)) return;
  const baseline = { label: 'without TTLs', rounds: [] as Round[], median: {} };
  res.baseline = baseline;
  // Windows are long (the longest TTL): two rounds are enough to see the ratio.
  const rounds = Math.min(cfg.rounds, cfg.quick ? 1 : 2);
  cfg.log(`ttl: ${size.groups} groups, TTLs 1-${size.maxTtlS} s, ${rounds} rounds`);
  for (let n = 0; n < rounds; n++) {
    // Alternate which goes first, so a trend in the machine's load does not favour one side.
    for (const [position, ttl] of (n % 2 === 0 ? [false, true] : [true, false]).entries()) {
      const w = windowInChild(size, ttl);
      const r = round(w, n, position);
      (ttl ? res.rounds.ours : baseline.rounds).push(r);
      cfg.log(
        `  round ${n + 1}/${rounds} ${res.id} ${ttl ? 'with TTLs   ' : 'without TTLs'} ${w.pushesPerS} writes/s` +
          (ttl
            ? ` lag p50/p99/max ${w.lagMs?.p50.toFixed(0)}/${w.lagMs?.p99.toFixed(0)}/${w.lagMs?.max.toFixed(0)} ms`
            : '') +
          ` (${w.lagged} of ${w.left} expired) loop p99 ${w.loopDelayMs.p99} ms load ${r.values.loadAvg1.toFixed(2)}`,
      );
    }
  }
  finish(res);
  const b = baseline.median as Record<string, number>;
  res.notes.push(
    `Store writes with TTLs / without: ${(res.median.ours.pushesPerSec / b.pushesPerSec).toFixed(3)} per second, ` +
      `${(res.median.ours.writesPerCpuS / b.writesPerCpuS).toFixed(3)} per CPU-second (target ≥ 0.9). Both sides ` +
      `get ${size.ratePerS} writes/s, so every group is re-pushed at the same interval; with TTLs, groups whose TTL ` +
      'is shorter than that interval expire and are created again by their next push: that churn is part of the ' +
      'cost. The reference has no expiry, so its column is empty.',
  );
  out.scenarios.push(res);
}

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--window')) {
    const size = { groups: Number(arg('groups')), maxTtlS: Number(arg('max-ttl')), ratePerS: Number(arg('rate')) };
    process.stdout.write(JSON.stringify(await window(size, arg('ttl') === '1')) + '\n');
  } else {
    const preset = process.argv.includes('--quick') ? TTL_QUICK : TTL_FULL;
    const size = { ...preset, ratePerS: Number(arg('rate') ?? preset.ratePerS) };
    const rounds = Math.max(1, Number(arg('rounds') ?? 2) || 1);
    const windows: TtlWindow[] = [];
    for (let n = 0; n < rounds; n++) {
      for (const ttl of n % 2 === 0 ? [false, true] : [true, false]) {
        const w = windowInChild(size, ttl);
        windows.push(w);
        process.stdout.write(`${JSON.stringify({ ...w, writesPerCpuS: perCpuS(w), loadAvg1: loadavg()[0] })}\n`);
      }
    }
    const rate = (ttl: boolean, of: (w: TtlWindow) => number = (w) => w.pushesPerS) => {
      const rates = windows.filter((w) => w.ttl === ttl).map(of);
      return rates.reduce((a, b) => a + b, 0) / rates.length;
    };
    const withTtl = windows.filter((w) => w.ttl);
    process.stdout.write(
      `groups ${size.groups}, TTLs 1-${size.maxTtlS} s, windows of ${size.maxTtlS + 2} s, ` +
        `${size.ratePerS > 0 ? `${size.ratePerS} writes/s offered` : 'unpaced'}: ` +
        `push rate with TTLs / without = ${(rate(true) / rate(false)).toFixed(3)} ` +
        `(per CPU-second ${(rate(true, perCpuS) / rate(false, perCpuS)).toFixed(3)}); ` +
        `expired in the window ${withTtl.map((w) => `${w.lagged} of ${w.left}`).join(', ')} left to expire; ` +
        `lag p99 ${withTtl.map((w) => w.lagMs?.p99.toFixed(0)).join(', ')} ms, ` +
        `max ${withTtl.map((w) => w.lagMs?.max.toFixed(0)).join(', ')} ms; load ${loadavg()[0].toFixed(2)}\n`,
    );
  }
}
