// The benchmark scenarios. Each "state" (empty store, 1k groups, 10k groups, memory) starts its own
// pair of servers, brings them to the same content, then measures them in alternating rounds
// (ours first on even rounds, the reference first on odd rounds), and stops them in `finally`.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../test/support/servers.js';
import {
  alive,
  countGroups,
  cpuMs,
  freeze,
  GROUP_PATH,
  KINDS,
  loadAvg1,
  machineBusyMs,
  makeTempDir,
  removeTempDir,
  preload,
  pushBody,
  rssMiB,
  sleep,
  start,
  stop,
  waitIdle,
  waitQuiet,
  wipe,
  type Kind,
  type PreloadResult,
} from './gateways.js';
import { runLoad, type Job, type JobResult, type StreamSpec } from './load.js';

/** Sizes of the scenarios of bench/users.ts (what users run). */
export interface UsersConfig {
  fleetGroups: number[];
  fleetRates: number[];
  fleetIntervalsMs: number[];
  fleetWindowMs: number;
  fleetRounds: number;
  /** Pushes in flight at most (the open-loop schedule does not wait for them; latency runs from the schedule). */
  fleetConnections: number;
  /** A push not answered this long after its scheduled time is given up. */
  fleetPushTimeoutMs: number;
  /** Prometheus' scrape timeout. */
  scrapeTimeoutMs: number;
  idleScrapes: number;
  /** Scrapes (and pushes before them) of the big store per round: its ratios are of ~10 ms times. */
  bigScrapes: number;
  promGroups: number;
  promRate: number;
  promWindowMs: number;
  promRounds: number;
  fixedGroups: number;
  fixedWindowS: number;
  bigGroups: number;
  bigRounds: number;
  bigWindowMs: number;
  bigPushRate: number;
  bigPushConnections: number;
}

export interface BenchConfig {
  quick: boolean;
  rounds: number;
  /** Rounds for pushes at the largest store (each reference window there takes ~30 s). */
  largeRounds: number;
  /** Length of one measurement window. */
  durationMs: number;
  /** Window for pushes at the largest store (the reference manages only a few pushes per second there). */
  longDurationMs: number;
  warmupMs: number;
  settleMs: number;
  /** Second RSS reading, this long after loading: what a loaded gateway keeps once idle. */
  idleMs: number;
  series: number;
  groupsMid: number;
  groupsLarge: number;
  memGroups: number;
  memSeries: number;
  /** Groups (of `series` series) persisted for the start-up scenario, and its rounds. */
  startupGroups: number;
  startupRounds: number;
  pushConnections: number;
  scrapeConnections: number;
  preloadConnections: number;
  /** Time allowed for loading one server, per load. */
  preloadBudgetMs: number;
  requestTimeoutMs: number;
  /** A window during which other processes used at least this many cores is measured again… */
  noisyCores: number;
  /** …as long as this run-wide budget of repeats lasts. */
  retries: { left: number; waitMs: number };
  /** Scenario ids to run (empty = all). */
  only: string[];
  /** Sizes and rates of the scenarios of bench/users.ts. */
  users: UsersConfig;
  log: (msg: string) => void;
}

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower' | 'none';
}

export interface Round {
  round: number;
  /** 0 = measured first in its round, 1 = second. */
  position: number;
  values: Record<string, number>;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  samples: string[];
  non2xx: number;
  loadCpuMs: number;
  serverCpuMs: number;
  wallMs: number;
  failure?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  description: string;
  metrics: MetricDef[];
  rounds: Record<Kind, Round[]>;
  median: Record<Kind, Record<string, number>>;
  notes: string[];
  /** Why a gateway was not measured (or only partly). */
  skipped: Partial<Record<Kind, string>>;
  /** Windows measured again because other processes used much CPU meanwhile. */
  discarded: Array<Round & { kind: Kind }>;
  /** A third server measured in the same rounds (a bare node:http server), compared with ours. */
  baseline?: { label: string; rounds: Round[]; median: Record<string, number> };
}

export interface PreloadInfo {
  state: string;
  kind: Kind;
  how: string;
  result: PreloadResult;
  groupsVerified?: number;
}

export interface BenchOutput {
  scenarios: ScenarioResult[];
  preloads: PreloadInfo[];
  notes: string[];
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function finish(r: ScenarioResult): ScenarioResult {
  for (const k of KINDS) {
    const out: Record<string, number> = {};
    for (const m of r.metrics) out[m.key] = median(r.rounds[k].filter((x) => !x.failure).map((x) => x.values[m.key]));
    r.median[k] = out;
  }
  if (r.baseline) {
    const b = r.baseline;
    for (const m of r.metrics) b.median[m.key] = median(b.rounds.filter((x) => !x.failure).map((x) => x.values[m.key]));
  }
  return r;
}

export function newResult(id: string, title: string, description: string, metrics: MetricDef[]): ScenarioResult {
  return {
    id,
    title,
    description,
    metrics,
    rounds: { ours: [], reference: [] },
    median: { ours: {}, reference: {} },
    notes: [],
    skipped: {},
    discarded: [],
  };
}

const PUSH_METRICS: MetricDef[] = [
  { key: 'pushesPerSec', label: 'pushes/s', unit: '/s', better: 'higher' },
  { key: 'p99Ms', label: 'push p99', unit: 'ms', better: 'lower' },
];
const SCRAPE_METRICS: MetricDef[] = [
  { key: 'scrapesPerSec', label: 'scrapes/s', unit: '/s', better: 'higher' },
  { key: 'p99Ms', label: 'scrape p99', unit: 'ms', better: 'lower' },
  { key: 'kibPerScrape', label: 'body size', unit: 'KiB', better: 'none' },
];

/** One measurement scenario within a state. */
export interface Spec {
  result: ScenarioResult;
  /** Also report ours' GC pauses as a share of its CPU (`gcPct`; read from its own /metrics). */
  gcShare?: boolean;
  before?: (s: RunningServer) => Promise<void>;
  job: (s: RunningServer) => Job;
  values: (r: JobResult) => Record<string, number>;
}

function pushStream(
  cfg: BenchConfig,
  s: RunningServer,
  o: { connections: number; durationMs: number; cycle: number },
): StreamSpec {
  return {
    name: 'push',
    method: 'PUT',
    port: s.port,
    path: GROUP_PATH,
    first: 0,
    cycle: o.cycle,
    body: pushBody(cfg.series),
    connections: o.connections,
    durationMs: o.durationMs,
    maxRequests: 2_000_000,
    timeoutMs: cfg.requestTimeoutMs,
  };
}

function scrapeStream(cfg: BenchConfig, s: RunningServer, o: { gzip: boolean; durationMs: number }): StreamSpec {
  return {
    name: 'scrape',
    method: 'GET',
    port: s.port,
    path: '/metrics',
    headers: o.gzip ? { 'Accept-Encoding': 'gzip' } : {},
    connections: cfg.scrapeConnections,
    durationMs: o.durationMs,
    maxRequests: 1_000_000,
    timeoutMs: cfg.requestTimeoutMs,
  };
}

function pushValues(r: JobResult, name = 'push'): Record<string, number> {
  const st = r.streams.find((x) => x.name === name)!;
  return {
    pushesPerSec: st.okPerSec,
    p99Ms: st.latencyMs.p99,
    p50Ms: st.latencyMs.p50,
    requests: st.requests,
    ok: st.ok,
  };
}

function scrapeValues(r: JobResult, name = 'scrape'): Record<string, number> {
  const st = r.streams.find((x) => x.name === name)!;
  return {
    scrapesPerSec: st.okPerSec,
    p99Ms: st.latencyMs.p99,
    p50Ms: st.latencyMs.p50,
    kibPerScrape: st.requests ? st.bytes / st.requests / 1024 : NaN,
    requests: st.requests,
    ok: st.ok,
  };
}

/**
 * Seconds ours has spent in GC pauses since it started: prom-client's nodejs_gc_duration_seconds
 * (every kind), read from a scrape that asks for nothing but identity text.
 */
async function gcPauseSeconds(s: RunningServer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${s.port}/metrics`, { headers: { Accept: 'text/plain' } });
  let sum = 0;
  for (const m of (await res.text()).matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

/** CPU the servers not measured have used so far, ms (those that exited count no more). */
function idleCpuMs(idle: RunningServer[]): number {
  return idle.filter(alive).reduce((sum, s) => sum + cpuMs(s), 0);
}

export const order = (round: number): Kind[] => (round % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours']);

export async function measureOnce(
  cfg: BenchConfig,
  spec: Spec,
  kind: Kind,
  s: RunningServer,
  round: number,
  position: number,
  idle: RunningServer[] = [],
): Promise<Round> {
  const t0 = Date.now();
  try {
    if (spec.before) await spec.before(s);
    const withGc = spec.gcShare === true && kind === 'ours';
    const g0 = withGc ? await gcPauseSeconds(s) : NaN;
    const c0 = cpuMs(s);
    const i0 = idleCpuMs(idle);
    const m0 = machineBusyMs();
    const w0 = Date.now();
    const r = await runLoad(spec.job(s));
    const serverCpuMs = alive(s) ? cpuMs(s) - c0 : NaN;
    const machineMs = machineBusyMs() - m0;
    const idleMs = idleCpuMs(idle) - i0;
    const wallMs = Date.now() - w0;
    const gcMs = withGc ? ((await gcPauseSeconds(s)) - g0) * 1000 : NaN;
    const idleWaitMs = await waitIdle(s);
    if (idleWaitMs > 2000)
      cfg.log(`  (${kind} kept working ${(idleWaitMs / 1000).toFixed(1)} s after that window; waited for it)`);
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const samples: string[] = [];
    let non2xx = 0;
    for (const st of r.streams) {
      for (const [code, n] of Object.entries(st.statuses)) statuses[`${st.name} ${code}`] = n;
      for (const [e, n] of Object.entries(st.errors)) errors[`${st.name} ${e}`] = n;
      samples.push(...st.samples);
      non2xx += st.requests - st.ok;
      if (st.name === 'scrape' && spec.result.id.includes('gzip') && st.ok > 0 && st.contentEncoding !== 'gzip') {
        spec.result.notes.push(
          `${kind}: answered a gzip-accepting scrape with Content-Encoding "${st.contentEncoding}"`,
        );
      }
    }
    const values = spec.values(r);
    values.serverCores = serverCpuMs / wallMs;
    values.loadCores = r.loadCpuMs / wallMs;
    // The gateway not measured: work a window of its own left behind (the reference checks a
    // flood's passwords for minutes after it) shows here, not among other processes.
    values.idleGatewayCores = idleMs / wallMs;
    // Everything else on the machine (other work on a shared machine).
    values.otherCores = Math.max(0, (machineMs - serverCpuMs - r.loadCpuMs - idleMs) / wallMs);
    values.idleWaitMs = idleWaitMs;
    values.loadAvg1 = loadAvg1();
    if (withGc) values.gcPct = (100 * gcMs) / serverCpuMs;
    return {
      round,
      position,
      values,
      statuses,
      errors,
      samples: samples.slice(0, 3),
      non2xx,
      loadCpuMs: r.loadCpuMs,
      serverCpuMs,
      wallMs: Date.now() - t0,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return {
      round,
      position,
      values: {},
      statuses: {},
      errors: {},
      samples: [],
      non2xx: 0,
      loadCpuMs: NaN,
      serverCpuMs: NaN,
      wallMs: Date.now() - t0,
      failure: msg,
    };
  }
}

/** Runs every spec for `rounds` rounds, alternating which gateway goes first. */
export async function alternate(
  cfg: BenchConfig,
  servers: Partial<Record<Kind, RunningServer>>,
  specs: Spec[],
  rounds = cfg.rounds,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const spec of specs) {
      let position = 0;
      for (const kind of order(round)) {
        const s = servers[kind];
        if (s === undefined) continue;
        if (!alive(s)) {
          spec.result.skipped[kind] ??=
            `server exited (${s.proc.exitCode ?? s.proc.signalCode}): ${s.output().slice(-500)}`;
          continue;
        }
        const idle = KINDS.filter((k) => k !== kind && servers[k] !== undefined).map((k) => servers[k]!);
        // The gateway not measured is frozen: work its own window left behind (the reference
        // checks a flood's passwords for minutes after it, and collects a 1M scrape's garbage)
        // ran during the other's next windows, as "other" CPU, and slowed it.
        for (const o of idle) freeze(o, true);
        let r: Round;
        try {
          r = await measureOnce(cfg, spec, kind, s, round, position, idle);
          // A window during which other work on the machine took a lot of CPU is measured again
          // (once, within a run-wide budget); the quieter of the two is kept, the other recorded.
          if (!r.failure && r.values.otherCores >= cfg.noisyCores && cfg.retries.left > 0 && r.wallMs < 15_000) {
            cfg.retries.left--;
            cfg.log(
              `  (other processes used ${r.values.otherCores.toFixed(2)} cores during that window; measuring it again)`,
            );
            // The other (idle) server's own CPU counts as "other" too, so allow a little more than the threshold.
            await waitQuiet({ cores: 0.3, maxMs: cfg.retries.waitMs });
            const again = await measureOnce(cfg, spec, kind, s, round, position, idle);
            const keep = !again.failure && again.values.otherCores < r.values.otherCores ? again : r;
            spec.result.discarded.push({ kind, ...(keep === r ? again : r) });
            r = keep;
          }
        } finally {
          for (const o of idle) freeze(o, false);
        }
        position++;
        spec.result.rounds[kind].push(r);
        const v = r.values;
        cfg.log(
          `  round ${round + 1}/${rounds} ${spec.result.id.padEnd(14)} ${kind.padEnd(9)} ` +
            (r.failure
              ? `FAILED: ${r.failure}`
              : Object.entries(v)
                  .filter(([k]) => spec.result.metrics.some((m) => m.key === k))
                  .map(([k, x]) => `${k}=${x.toFixed(x < 10 ? 2 : 0)}`)
                  .join(' ') + (r.non2xx ? ` non2xx=${r.non2xx} ${JSON.stringify(r.statuses)}` : '')),
        );
      }
    }
  }
  for (const spec of specs) finish(spec.result);
}

export function wanted(cfg: BenchConfig, id: string): boolean {
  return cfg.only.length === 0 || cfg.only.some((o) => id.startsWith(o));
}

export function fmtGroups(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

async function startPair(flags: string[] = []): Promise<Record<Kind, RunningServer>> {
  const ours = await start('ours', flags);
  try {
    const reference = await start('reference', flags);
    return { ours, reference };
  } catch (e) {
    await stop(ours);
    throw e;
  }
}

async function warmUp(cfg: BenchConfig, s: RunningServer): Promise<void> {
  await runLoad({
    streams: [
      {
        name: 'warmup',
        method: 'PUT',
        port: s.port,
        path: '/metrics/job/warmup/instance/{n}',
        body: pushBody(cfg.series),
        connections: cfg.pushConnections,
        durationMs: cfg.warmupMs,
        maxRequests: 100_000,
        timeoutMs: cfg.requestTimeoutMs,
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// State 1: empty store. Pushes go to new, distinct groups; the store is wiped before every window.

export async function emptyState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const push0 = newResult(
    'push-0',
    `Push, empty store, ${cfg.pushConnections} conns`,
    `PUT of a ${cfg.series}-series body to a new group per request, starting from an empty store (wiped before each window)`,
    [...PUSH_METRICS, { key: 'groupsAtEnd', label: 'groups at end of window', unit: '', better: 'none' }],
  );
  const seq0 = newResult(
    'seq-0',
    'Sequential push, empty store, 1 conn',
    `PUT of a ${cfg.series}-series body to a new group per request, one connection, no concurrency, from an empty store`,
    [...PUSH_METRICS, { key: 'groupsAtEnd', label: 'groups at end of window', unit: '', better: 'none' }],
  );
  const specs: Spec[] = [];
  const withGroups = (r: JobResult) => ({ ...pushValues(r), groupsAtEnd: r.streams[0].ok });
  if (wanted(cfg, push0.id)) {
    specs.push({
      result: push0,
      before: (s) => wipe(s),
      job: (s) => ({
        streams: [pushStream(cfg, s, { connections: cfg.pushConnections, durationMs: cfg.durationMs, cycle: 0 })],
      }),
      values: withGroups,
    });
  }
  if (wanted(cfg, seq0.id)) {
    specs.push({
      result: seq0,
      before: (s) => wipe(s),
      job: (s) => ({ streams: [pushStream(cfg, s, { connections: 1, durationMs: cfg.durationMs, cycle: 0 })] }),
      values: withGroups,
    });
  }
  if (specs.length === 0) return;
  cfg.log('state: empty store (servers started with --web.enable-admin-api to wipe between windows)');
  const servers = await startPair(['--web.enable-admin-api']);
  try {
    for (const k of KINDS) await warmUp(cfg, servers[k]);
    await alternate(cfg, servers, specs);
    push0.notes.push(
      'Every push creates a new group, so the store grows during the window; "groups at end of window" shows how far. ' +
        'The reference slows down as it grows (its consistency check gathers the whole store on every push).',
    );
  } finally {
    await stop(servers.ours);
    await stop(servers.reference);
  }
  out.scenarios.push(...specs.map((s) => s.result));
}

/**
 * No-loss mode: ours with --persistence.sync (every push fsynced to the write-ahead log before
 * its answer) against the reference as in push-0 (it has no such mode). The cost of the mode is
 * the ratio of this to ours in push-0/seq-0, noted with the result.
 */
export async function noLossState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const make = (id: string, title: string, connections: number) => ({
    connections,
    result: newResult(
      id,
      title,
      `PUT of a ${cfg.series}-series body to a new group per request; ours acknowledges each push only once it is on disk`,
      PUSH_METRICS,
    ),
  });
  const cases = [
    make('sync-push-0', `No-loss mode (--persistence.sync): push, ${cfg.pushConnections} conns`, cfg.pushConnections),
    make('sync-seq-0', 'No-loss mode (--persistence.sync): sequential push, 1 conn', 1),
  ].filter((c) => wanted(cfg, c.result.id));
  if (cases.length === 0) return;
  cfg.log('state: no-loss mode (ours with --persistence.sync, on a temporary file)');
  const dir = makeTempDir('pgw-bench-sync-');
  const ours = await start('ours', [
    '--web.enable-admin-api',
    `--persistence.file=${path.join(dir, 'store.data')}`,
    '--persistence.sync',
  ]);
  let reference: RunningServer | undefined;
  try {
    reference = await start('reference', ['--web.enable-admin-api']);
    for (const s of [ours, reference]) await warmUp(cfg, s);
    const specs: Spec[] = cases.map((c) => ({
      result: c.result,
      before: (s) => wipe(s),
      job: (s) => ({
        streams: [pushStream(cfg, s, { connections: c.connections, durationMs: cfg.durationMs, cycle: 0 })],
      }),
      values: (r) => pushValues(r),
    }));
    await alternate(cfg, { ours, reference }, specs);
    for (const c of cases) {
      finish(c.result);
      const plain = out.scenarios.find((x) => x.id === c.result.id.replace('sync-', ''));
      const sync = c.result.median.ours.pushesPerSec;
      const base = plain?.median.ours.pushesPerSec;
      if (base !== undefined && sync !== undefined && base > 0) {
        c.result.notes.push(
          `Cost of the mode: ours with --persistence.sync reaches ${(sync / base).toFixed(2)}× ours in default mode (${plain!.id}, same run).`,
        );
      }
      out.scenarios.push(c.result);
    }
  } finally {
    await stop(ours);
    if (reference !== undefined) await stop(reference);
    removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// State 2: a mid-sized store (1,000 groups × 20 series). Push, scrape, mixed, sequential push.

export async function midState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const N = cfg.groupsMid;
  const g = fmtGroups(N);
  const push = newResult(
    `push-${g}`,
    `Push, ${g} groups stored, ${cfg.pushConnections} conns`,
    `PUT of a ${cfg.series}-series body, replacing the ${N} stored groups in turn (consecutive pushes go to distinct groups; the store size stays ${N})`,
    PUSH_METRICS,
  );
  const scrape = newResult(
    `scrape-${g}`,
    `Scrape /metrics, ${g} groups, ${cfg.scrapeConnections} conns`,
    `GET /metrics without Accept-Encoding, ${N} groups × ${cfg.series} series stored`,
    SCRAPE_METRICS,
  );
  const scrapeGz = newResult(
    `scrape-${g}-gzip`,
    `Scrape /metrics gzip, ${g} groups, ${cfg.scrapeConnections} conns`,
    `GET /metrics with Accept-Encoding: gzip (compressed bytes counted), ${N} groups × ${cfg.series} series stored`,
    SCRAPE_METRICS,
  );
  const mixed = newResult(
    `mixed-${g}`,
    `Mixed: push (${cfg.pushConnections} conns) + scrape (${cfg.scrapeConnections} conns), ${g} groups`,
    `Pushes at full speed as in push-${g} while ${cfg.scrapeConnections} clients scrape /metrics continuously`,
    [
      { key: 'pushesPerSec', label: 'pushes/s', unit: '/s', better: 'higher' },
      { key: 'p99Ms', label: 'push p99', unit: 'ms', better: 'lower' },
      { key: 'scrapesPerSec', label: 'scrapes/s', unit: '/s', better: 'higher' },
      { key: 'scrapeP99Ms', label: 'scrape p99', unit: 'ms', better: 'lower' },
    ],
  );
  const seq = newResult(
    `seq-${g}`,
    `Sequential push, ${g} groups stored, 1 conn`,
    `PUT replacing the ${N} stored groups in turn, one connection, no concurrency`,
    PUSH_METRICS,
  );
  const specs: Spec[] = [];
  const pushJob = (s: RunningServer): Job => ({
    streams: [pushStream(cfg, s, { connections: cfg.pushConnections, durationMs: cfg.durationMs, cycle: N })],
  });
  if (wanted(cfg, push.id)) specs.push({ result: push, job: pushJob, values: (r) => pushValues(r) });
  if (wanted(cfg, scrape.id)) {
    specs.push({
      result: scrape,
      job: (s) => ({ streams: [scrapeStream(cfg, s, { gzip: false, durationMs: cfg.durationMs })] }),
      values: (r) => scrapeValues(r),
    });
  }
  if (wanted(cfg, scrapeGz.id)) {
    specs.push({
      result: scrapeGz,
      job: (s) => ({ streams: [scrapeStream(cfg, s, { gzip: true, durationMs: cfg.durationMs })] }),
      values: (r) => scrapeValues(r),
    });
  }
  if (wanted(cfg, mixed.id)) {
    specs.push({
      result: mixed,
      job: (s) => ({
        streams: [
          pushStream(cfg, s, { connections: cfg.pushConnections, durationMs: cfg.durationMs, cycle: N }),
          scrapeStream(cfg, s, { gzip: false, durationMs: cfg.durationMs }),
        ],
      }),
      values: (r) => {
        const p = pushValues(r);
        const sc = scrapeValues(r);
        return { ...p, scrapesPerSec: sc.scrapesPerSec, scrapeP99Ms: sc.p99Ms };
      },
    });
  }
  if (wanted(cfg, seq.id)) {
    specs.push({
      result: seq,
      job: (s) => ({ streams: [pushStream(cfg, s, { connections: 1, durationMs: cfg.durationMs, cycle: N })] }),
      values: (r) => pushValues(r),
    });
  }
  if (specs.length === 0) return;
  cfg.log(`state: ${N} groups × ${cfg.series} series`);
  const servers = await startPair();
  try {
    for (const k of KINDS) {
      cfg.log(`  loading ${k} over HTTP (${cfg.preloadConnections} conns, consistency check on)…`);
      const result = await preload(servers[k], {
        groups: N,
        series: cfg.series,
        connections: cfg.preloadConnections,
        budgetMs: cfg.preloadBudgetMs,
      });
      const verified = await countGroups(servers[k]);
      out.preloads.push({
        state: g,
        kind: k,
        how: `HTTP PUT, ${cfg.preloadConnections} connections, default flags`,
        result,
        groupsVerified: verified,
      });
      cfg.log(
        `  ${k}: ${result.loaded}/${N} groups in ${result.seconds.toFixed(1)} s (${verified} groups visible in /metrics)`,
      );
      if (result.capped) {
        for (const sp of specs)
          sp.result.skipped[k] =
            `loading stopped at ${result.loaded} of ${N} groups after ${result.seconds.toFixed(0)} s (budget); measured at that size`;
      }
      if (result.non2xx > 0)
        out.notes.push(
          `${k}: ${result.non2xx} non-2xx answers while loading ${N} groups: ${result.samples.join(' | ')}`,
        );
    }
    await alternate(cfg, servers, specs);
  } finally {
    await stop(servers.ours);
    await stop(servers.reference);
  }
  out.scenarios.push(...specs.map((s) => s.result));
}

// ---------------------------------------------------------------------------------------------
// State 3: a large store (10,000 groups × 20 series). Push throughput, and memory after loading.

/**
 * Loads the reference quickly: a first instance with --push.disable-consistency-check and a
 * persistence file takes the pushes and writes the file when stopped; a second instance with
 * default flags (plus that file) starts from it. The stored content is the same as if it had been
 * pushed with the check on. Returns the second instance.
 */
async function referenceViaPersistence(
  cfg: BenchConfig,
  groups: number,
  series: number,
  file: string,
  out: BenchOutput,
  state: string,
): Promise<{ server: RunningServer; loaderRss: number; loaderIdleRss: number; preloadResult: PreloadResult }> {
  const flags = [`--persistence.file=${file}`, '--persistence.interval=1h'];
  const loader = await start('reference', [...flags, '--push.disable-consistency-check']);
  let preloadResult: PreloadResult;
  let loaderRss: number;
  let loaderIdleRss: number;
  let stopping: number;
  try {
    preloadResult = await preload(loader, {
      groups,
      series,
      connections: cfg.preloadConnections,
      budgetMs: cfg.preloadBudgetMs,
    });
    await sleep(cfg.settleMs);
    loaderRss = rssMiB(loader);
    await sleep(cfg.idleMs - cfg.settleMs);
    loaderIdleRss = rssMiB(loader);
  } finally {
    stopping = Date.now();
    await stop(loader, 300_000); // writes the persistence file on SIGTERM
  }
  const written = Date.now();
  const server = await start('reference', flags, 300_000);
  const restored = Date.now();
  const verified = await countGroups(server);
  out.preloads.push({
    state,
    kind: 'reference',
    how:
      `HTTP PUT (${cfg.preloadConnections} connections) into an instance with --push.disable-consistency-check, ` +
      `persisted on shutdown (${((written - stopping) / 1000).toFixed(1)} s, ${(statSync(file).size / 1048576).toFixed(1)} MiB file), ` +
      `then an instance with default flags (apart from --persistence.file) restored from the file (${((restored - written) / 1000).toFixed(1)} s)`,
    result: preloadResult,
    groupsVerified: verified,
  });
  return { server, loaderRss, loaderIdleRss, preloadResult };
}

export async function largeState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const N = cfg.groupsLarge;
  const g = fmtGroups(N);
  const push = newResult(
    `push-${g}`,
    `Push, ${g} groups stored, ${cfg.pushConnections} conns`,
    `PUT of a ${cfg.series}-series body, replacing the ${N} stored groups in turn; ${cfg.longDurationMs / 1000} s windows`,
    PUSH_METRICS,
  );
  const mem = newResult(
    `memory-${g}x${cfg.series}`,
    `Memory, ${g} groups × ${cfg.series} series`,
    `VmRSS of the server process ${cfg.settleMs / 1000} s and ${cfg.idleMs / 1000} s after loading (measured once)`,
    MEMORY_METRICS(cfg),
  );
  const doPush = wanted(cfg, push.id);
  const doMem = wanted(cfg, mem.id);
  if (!doPush && !doMem) return;
  cfg.log(`state: ${N} groups × ${cfg.series} series`);
  const dir = makeTempDir('pgw-bench-');
  let ours: RunningServer | undefined;
  let reference: RunningServer | undefined;
  try {
    ours = await start('ours');
    cfg.log(`  loading ours over HTTP (${cfg.preloadConnections} conns, consistency check on)…`);
    const po = await preload(ours, {
      groups: N,
      series: cfg.series,
      connections: cfg.preloadConnections,
      budgetMs: cfg.preloadBudgetMs,
    });
    const oursLoaded = Date.now();
    await sleep(cfg.settleMs);
    const oursRss = rssMiB(ours);
    const ov = await countGroups(ours);
    out.preloads.push({
      state: g,
      kind: 'ours',
      how: `HTTP PUT, ${cfg.preloadConnections} connections, default flags`,
      result: po,
      groupsVerified: ov,
    });
    cfg.log(
      `  ours: ${po.loaded}/${N} groups in ${po.seconds.toFixed(1)} s, RSS ${oursRss.toFixed(0)} MiB (${ov} groups visible)`,
    );
    if (po.capped)
      push.skipped.ours =
        mem.skipped.ours = `loading stopped at ${po.loaded} of ${N} groups after ${po.seconds.toFixed(0)} s (budget)`;
    if (po.non2xx > 0)
      out.notes.push(`ours: ${po.non2xx} non-2xx answers while loading ${N} groups: ${po.samples.join(' | ')}`);

    cfg.log('  loading the reference (check disabled, then restarted from its persistence file)…');
    const ref = await referenceViaPersistence(cfg, N, cfg.series, path.join(dir, 'reference.store'), out, g);
    reference = ref.server;
    cfg.log(
      `  reference: ${ref.preloadResult.loaded}/${N} groups in ${ref.preloadResult.seconds.toFixed(1)} s, RSS ${ref.loaderRss.toFixed(0)} MiB (loader)`,
    );
    if (ref.preloadResult.capped)
      push.skipped.reference =
        mem.skipped.reference = `loading stopped at ${ref.preloadResult.loaded} of ${N} groups (budget)`;
    await sleep(cfg.settleMs);
    const restoredRss = rssMiB(reference);
    await sleep(Math.max(0, oursLoaded + cfg.idleMs - Date.now())); // ours has been idle all along
    const oursIdleRss = rssMiB(ours);

    mem.rounds.ours.push(memRound(oursRss, oursIdleRss));
    mem.rounds.reference.push(memRound(ref.loaderRss, ref.loaderIdleRss));
    mem.notes.push(
      `Reference RSS is that of the instance that took the ${N} pushes (flag --push.disable-consistency-check, which changes what is checked, not what is stored); ` +
        `the measured instance, restored from its persistence file, used ${restoredRss.toFixed(0)} MiB.`,
    );
    finish(mem);

    // How long loading the reference over HTTP with its consistency check would take.
    const mid = out.preloads.find((p) => p.kind === 'reference' && p.state === fmtGroups(cfg.groupsMid));
    if (mid && !mid.result.capped && mid.result.loaded > 0) {
      const est = mid.result.seconds * (N / mid.result.loaded) ** 2;
      push.notes.push(
        `Loading the reference to ${N} groups over HTTP with its consistency check on was not attempted: each push costs time proportional to the store size, ` +
          `so from ${mid.result.loaded} groups in ${mid.result.seconds.toFixed(1)} s it would take about ${(est / 60).toFixed(0)} min (quadratic extrapolation). ` +
          'It was loaded with the check off and restarted from its persistence file instead; the measured pushes run with the check on.',
      );
    }

    if (doPush) {
      const spec: Spec = {
        result: push,
        job: (s) => ({
          streams: [pushStream(cfg, s, { connections: cfg.pushConnections, durationMs: cfg.longDurationMs, cycle: N })],
        }),
        values: (r) => pushValues(r),
      };
      await alternate(cfg, { ours, reference }, [spec], cfg.largeRounds);
      out.scenarios.push(push);
    }
    if (doMem) out.scenarios.push(mem);
  } finally {
    if (ours) await stop(ours);
    if (reference) await stop(reference);
    removeTempDir(dir);
  }
}

function MEMORY_METRICS(cfg: BenchConfig): MetricDef[] {
  return [
    { key: 'rssMiB', label: `RSS at ${cfg.settleMs / 1000} s`, unit: 'MiB', better: 'lower' },
    { key: 'rssIdleMiB', label: `RSS at ${cfg.idleMs / 1000} s`, unit: 'MiB', better: 'lower' },
  ];
}

function memRound(rss: number, idleRss: number): Round {
  return {
    round: 0,
    position: 0,
    values: { rssMiB: rss, rssIdleMiB: idleRss },
    statuses: {},
    errors: {},
    samples: [],
    non2xx: 0,
    loadCpuMs: NaN,
    serverCpuMs: NaN,
    wallMs: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// State 4: memory with many small groups (100,000 groups × 10 series), one gateway at a time.

export async function memoryState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const N = cfg.memGroups;
  const g = fmtGroups(N);
  const mem = newResult(
    `memory-${g}x${cfg.memSeries}`,
    `Memory, ${g} groups × ${cfg.memSeries} series`,
    `VmRSS of the server process ${cfg.settleMs / 1000} s and ${cfg.idleMs / 1000} s after loading (measured once)`,
    [...MEMORY_METRICS(cfg), { key: 'loadSeconds', label: 'load time', unit: 's', better: 'lower' }],
  );
  if (!wanted(cfg, mem.id)) return;
  cfg.log(`state: memory, ${N} groups × ${cfg.memSeries} series, one gateway at a time`);
  for (const kind of KINDS) {
    // The reference with its consistency check would need hours for this many groups.
    const flags = kind === 'reference' ? ['--push.disable-consistency-check'] : [];
    const s = await start(kind, flags);
    try {
      cfg.log(`  loading ${kind}${flags.length ? ' ' + flags.join(' ') : ''}…`);
      const r = await preload(s, {
        groups: N,
        series: cfg.memSeries,
        connections: cfg.preloadConnections,
        budgetMs: cfg.preloadBudgetMs,
      });
      await sleep(cfg.settleMs);
      const rss = rssMiB(s);
      await sleep(cfg.idleMs - cfg.settleMs);
      const idleRss = rssMiB(s);
      out.preloads.push({
        state: `${g}x${cfg.memSeries}`,
        kind,
        how: `HTTP PUT, ${cfg.preloadConnections} connections${flags.length ? ', ' + flags.join(' ') : ', default flags'}`,
        result: r,
      });
      cfg.log(`  ${kind}: ${r.loaded}/${N} groups in ${r.seconds.toFixed(1)} s, RSS ${rss.toFixed(0)} MiB`);
      const round = memRound(rss, idleRss);
      round.values.loadSeconds = r.seconds;
      round.non2xx = r.non2xx;
      round.samples = r.samples;
      mem.rounds[kind].push(round);
      if (r.capped)
        mem.skipped[kind] =
          `loading stopped at ${r.loaded} of ${N} groups after ${r.seconds.toFixed(0)} s (budget); RSS is at that size`;
      if (r.non2xx > 0)
        out.notes.push(
          `${kind}: ${r.non2xx} non-2xx answers while loading ${N} groups × ${cfg.memSeries} series: ${r.samples.join(' | ')}`,
        );
    } finally {
      await stop(s);
    }
  }
  mem.notes.push(
    'The reference was loaded with --push.disable-consistency-check (with the check, loading it would take hours; the flag changes what is checked, not what is stored). Ours ran with default flags. ' +
      'Load time is for HTTP pushes over ' +
      `${cfg.preloadConnections} connections.`,
  );
  out.scenarios.push(finish(mem));
}

// ---------------------------------------------------------------------------------------------
// State 5: start-up from a persisted store (50,000 groups × 20 series = 1,000,000 series).

export async function startupState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const N = cfg.startupGroups;
  const total = N * cfg.series;
  const label = total >= 1_000_000 && total % 1_000_000 === 0 ? `${total / 1_000_000}m` : fmtGroups(total);
  const res = newResult(
    `startup-${label}`,
    `Start-up, ${N} groups × ${cfg.series} series persisted`,
    'From spawning the process to /-/ready answering 200 (the store restored from its persistence file), then the first /metrics scrape right after, a second one, and VmRSS after them; the same file for every round',
    [
      { key: 'readySeconds', label: 'start → ready', unit: 's', better: 'lower' },
      { key: 'firstScrapeSeconds', label: 'first scrape', unit: 's', better: 'lower' },
      { key: 'scrapeSeconds', label: 'next scrape', unit: 's', better: 'lower' },
      { key: 'rssMiB', label: 'RSS after them', unit: 'MiB', better: 'lower' },
    ],
  );
  if (!wanted(cfg, res.id)) return;
  cfg.log(`state: start-up from ${N} groups × ${cfg.series} series persisted`);
  const dir = makeTempDir('pgw-bench-startup-');
  try {
    const files: Partial<Record<Kind, string>> = {};
    for (const kind of KINDS) {
      const file = path.join(dir, `${kind}.store`);
      // The reference's consistency check would make loading it take hours (see the memory scenario).
      const loaderFlags = [
        `--persistence.file=${file}`,
        '--persistence.interval=1h',
        ...(kind === 'reference' ? ['--push.disable-consistency-check'] : []),
      ];
      const loader = await start(kind, loaderFlags);
      let r: PreloadResult;
      try {
        r = await preload(loader, {
          groups: N,
          series: cfg.series,
          connections: cfg.preloadConnections,
          budgetMs: cfg.preloadBudgetMs,
        });
      } finally {
        await stop(loader, 300_000); // writes the file
      }
      out.preloads.push({
        state: `startup-${label}`,
        kind,
        how: `HTTP PUT, ${cfg.preloadConnections} connections${kind === 'reference' ? ', --push.disable-consistency-check' : ''}, persisted on shutdown (${(statSync(file).size / 1048576).toFixed(1)} MiB file)`,
        result: r,
      });
      cfg.log(
        `  ${kind}: ${r.loaded}/${N} groups loaded in ${r.seconds.toFixed(1)} s, file ${(statSync(file).size / 1048576).toFixed(1)} MiB`,
      );
      if (r.capped) res.skipped[kind] = `loading stopped at ${r.loaded} of ${N} groups (budget); measured at that size`;
      files[kind] = file;
    }
    for (let round = 0; round < cfg.startupRounds; round++) {
      const order: Kind[] = round % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours'];
      for (const [position, kind] of order.entries()) {
        const t0 = Date.now();
        const s = await start(kind, [`--persistence.file=${files[kind]}`, '--persistence.interval=1h'], 600_000);
        const ready = (Date.now() - t0) / 1000;
        try {
          const t1 = Date.now();
          const scrape = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(600_000) });
          const body = await scrape.text();
          const first = (Date.now() - t1) / 1000;
          let groups = 0;
          for (let i = body.indexOf('\npush_time_seconds{'); i >= 0; i = body.indexOf('\npush_time_seconds{', i + 1))
            groups++;
          const t2 = Date.now();
          await (await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(600_000) })).arrayBuffer();
          const next = (Date.now() - t2) / 1000;
          const rss = rssMiB(s);
          cfg.log(
            `  round ${round + 1} ${kind}: ready in ${ready.toFixed(2)} s, first scrape ${first.toFixed(2)} s (${groups} groups, ${(body.length / 1048576).toFixed(1)} MiB), next ${next.toFixed(2)} s, RSS ${rss.toFixed(0)} MiB`,
          );
          res.rounds[kind].push({
            round,
            position,
            values: { readySeconds: ready, firstScrapeSeconds: first, scrapeSeconds: next, rssMiB: rss },
            statuses: { [scrape.status]: 1 },
            errors: {},
            samples: groups === N ? [] : [`${groups} of ${N} groups in the scrape`],
            non2xx: scrape.status === 200 ? 0 : 1,
            loadCpuMs: NaN,
            serverCpuMs: NaN,
            wallMs: Date.now() - t0,
          });
        } finally {
          await stop(s, 300_000);
        }
      }
    }
    res.notes.push(
      'The reference was loaded with --push.disable-consistency-check and restarted with default flags; ours with default flags throughout.',
    );
    out.scenarios.push(finish(res));
  } finally {
    removeTempDir(dir);
  }
}
