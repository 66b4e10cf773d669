// Scenarios shaped like what users run, rather than like a microbenchmark: a fleet of hosts
// pushing their own 44-series bodies at a steady rate while something scrapes the gateway as
// Prometheus does (and a real Prometheus doing it), pushes to a store of fixed size next to a bare
// node:http server, and a store of a million series. Ours and the reference run in the same
// process pair and the same rounds; the load comes from a separate process (bench/load.ts) or wrk.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROMETHEUS_BIN, requireBinary } from '../test/support/prometheus.js';
import { freePort, type RunningServer } from '../test/support/servers.js';
import { NODE_FLAGS } from '../src/nodeflags.js';
import { FLEET_FAMILIES, FLEET_PATH, FLEET_SERIES } from './fleetbody.js';
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
  preload,
  pushBody,
  removeTempDir,
  sleep,
  start,
  stop,
  stopProcess,
  track,
  waitIdle,
  type Kind,
} from './gateways.js';
import { runLoad, type JobResult, type StreamSpec } from './load.js';
import {
  alternate,
  finish,
  fmtGroups,
  newResult,
  order,
  wanted,
  type BenchConfig,
  type BenchOutput,
  type MetricDef,
  type Round,
  type ScenarioResult,
  type Spec,
  type UsersConfig,
} from './scenarios.js';

/** The Accept header Prometheus 2.x sends when scraping. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const SCRAPE_GZIP = { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip' };
const SCRAPE_IDENTITY = { Accept: PROMETHEUS_ACCEPT };

export function usersConfig(quick: boolean): UsersConfig {
  const common = {
    fleetRates: [200, 1000],
    fleetIntervalsMs: [1000, 100],
    fleetConnections: 32,
    scrapeTimeoutMs: 1000,
    promRate: 1000,
    fixedGroups: 1000,
    bigPushRate: 50,
    bigPushConnections: 4,
  };
  if (quick) {
    return {
      ...common,
      fleetGroups: [300],
      fleetWindowMs: 1000,
      fleetRounds: 1,
      fleetPushTimeoutMs: 1000,
      idleScrapes: 1,
      bigScrapes: 1,
      promGroups: 300,
      promWindowMs: 3000,
      promRounds: 1,
      fixedWindowS: 1,
      bigGroups: 2000,
      bigRounds: 1,
      bigWindowMs: 1000,
    };
  }
  return {
    ...common,
    fleetGroups: [1000, 10_000],
    fleetWindowMs: 12_000,
    fleetRounds: 2,
    fleetPushTimeoutMs: 5000,
    idleScrapes: 3,
    bigScrapes: 7,
    promGroups: 10_000,
    promWindowMs: 20_000,
    promRounds: 1,
    fixedWindowS: 5,
    bigGroups: 50_000,
    bigRounds: 2,
    bigWindowMs: 10_000,
  };
}

/** Whether a scenario id is one of this file's (they come first in the report). */
export function isUsersScenario(id: string): boolean {
  return /^(fleet|prom|fixed|big)-/.test(id);
}

const fmtRate = (ms: number) => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

function seriesLabel(n: number): string {
  return n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}m` : fmtGroups(n);
}

// ---------------------------------------------------------------------------------------------
// Loading: ours over HTTP with default flags; the reference through a loader instance without its
// consistency check whose persistence file the measured instance (with the check) starts from.

interface LoadOpts {
  groups: number;
  series: number;
  path?: string;
  bodyFor?: 'fleet';
}

async function loadPair(
  cfg: BenchConfig,
  out: BenchOutput,
  state: string,
  o: LoadOpts,
  dir: string,
): Promise<Record<Kind, RunningServer>> {
  const ours = await start('ours');
  try {
    cfg.log(`  loading ours over HTTP (${cfg.preloadConnections} conns)…`);
    const po = await preload(ours, { ...o, connections: cfg.preloadConnections, budgetMs: cfg.preloadBudgetMs });
    const ov = await countGroups(ours);
    out.preloads.push({
      state,
      kind: 'ours',
      how: `HTTP PUT, ${cfg.preloadConnections} connections, default flags`,
      result: po,
      groupsVerified: ov,
    });
    cfg.log(`  ours: ${po.loaded}/${o.groups} groups in ${po.seconds.toFixed(1)} s (${ov} visible)`);
    const file = path.join(dir, 'reference.store');
    const flags = [`--persistence.file=${file}`, '--persistence.interval=1h'];
    const loader = await start('reference', [...flags, '--push.disable-consistency-check']);
    let pr;
    try {
      // As many groups as ours took, should its loading have run out of time: both hold the same store.
      pr = await preload(loader, {
        ...o,
        groups: po.loaded,
        connections: cfg.preloadConnections,
        budgetMs: cfg.preloadBudgetMs,
      });
    } finally {
      await stop(loader, 300_000); // writes the persistence file
    }
    const reference = await start('reference', flags, 300_000);
    const rv = await countGroups(reference);
    out.preloads.push({
      state,
      kind: 'reference',
      how: 'HTTP PUT into an instance with --push.disable-consistency-check, persisted on shutdown; measured: an instance with default flags restored from that file',
      result: pr,
      groupsVerified: rv,
    });
    cfg.log(
      `  reference: ${pr.loaded}/${o.groups} groups in ${pr.seconds.toFixed(1)} s (${rv} visible after the restart)`,
    );
    if (po.capped || pr.capped || po.non2xx || pr.non2xx) {
      out.notes.push(
        `${state}: loading ran out of time or failed (ours ${po.loaded}, reference ${pr.loaded} of ${o.groups} groups); measured at that size`,
      );
    }
    return { ours, reference };
  } catch (e) {
    await stop(ours);
    throw e;
  }
}

function streamOf(r: JobResult, name: string) {
  const st = r.streams.find((x) => x.name === name);
  if (st === undefined) throw new Error(`no stream ${name}`);
  return st;
}

function openPush(
  s: RunningServer,
  o: { rate: number; windowMs: number; connections: number; timeoutMs: number; groups: number; fleet: boolean },
): StreamSpec {
  return {
    name: 'push',
    method: 'PUT',
    port: s.port,
    path: o.fleet ? FLEET_PATH : GROUP_PATH,
    first: 0,
    cycle: o.groups,
    random: true,
    ...(o.fleet ? { bodyFor: 'fleet' as const } : { body: pushBody(20) }),
    connections: o.connections,
    durationMs: o.windowMs,
    maxRequests: Math.ceil((o.rate * o.windowMs) / 1000) + 1,
    timeoutMs: o.timeoutMs,
    ratePerSec: o.rate,
  };
}

function scrapeLoop(s: RunningServer, o: { intervalMs: number; windowMs: number; timeoutMs: number }): StreamSpec {
  return {
    name: 'scrape',
    method: 'GET',
    port: s.port,
    path: '/metrics',
    headers: SCRAPE_GZIP,
    connections: 1,
    durationMs: o.windowMs,
    maxRequests: Math.ceil(o.windowMs / o.intervalMs) + 1,
    timeoutMs: o.timeoutMs,
    intervalMs: o.intervalMs,
  };
}

/** `reps` scrapes one after the other on one connection, nothing else running. */
function idleScrapes(s: RunningServer, reps: number, gzip: boolean): StreamSpec {
  return {
    name: 'scrape',
    method: 'GET',
    port: s.port,
    path: '/metrics',
    headers: gzip ? SCRAPE_GZIP : SCRAPE_IDENTITY,
    connections: 1,
    durationMs: 600_000,
    maxRequests: reps,
    timeoutMs: 300_000,
  };
}

export function loadAvgNote(r: ScenarioResult): void {
  const xs = [...r.rounds.ours, ...r.rounds.reference].map((x) => x.values.loadAvg1).filter(Number.isFinite);
  if (xs.length)
    r.notes.push(
      `1-minute load average after its windows: ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}.`,
    );
}

// ---------------------------------------------------------------------------------------------
// Fleet: N hosts, one group each, pushing at a steady rate while a scraper polls like Prometheus.

const FLEET_METRICS: MetricDef[] = [
  { key: 'achievedPct', label: 'pushes answered 2xx / offered', unit: '%', better: 'higher' },
  { key: 'pushP50Ms', label: 'push p50, from schedule', unit: 'ms', better: 'lower' },
  { key: 'pushP99Ms', label: 'push p99, from schedule', unit: 'ms', better: 'lower' },
  { key: 'scrapeP50Ms', label: 'scrape p50', unit: 'ms', better: 'lower' },
  { key: 'scrapeP99Ms', label: 'scrape p99', unit: 'ms', better: 'lower' },
  { key: 'scrapeTimeouts', label: 'scrapes timed out (1 s)', unit: '', better: 'lower' },
  { key: 'scrapes', label: 'scrapes started', unit: '', better: 'higher' },
  { key: 'gcPct', label: 'GC pauses / server CPU (ours; n/a for Go)', unit: '%', better: 'lower' },
];

export async function fleetState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const u = cfg.users;
  for (const N of u.fleetGroups) {
    const g = fmtGroups(N);
    const specs: Spec[] = [];
    const idle = newResult(
      `fleet-${g}-idle`,
      `Fleet of ${g} hosts: idle scrape`,
      `GET /metrics as Prometheus asks for it (its Accept header, gzip), ${u.idleScrapes} one after the other, nothing else running; ` +
        `${N} groups × ${FLEET_SERIES} series (${FLEET_FAMILIES} families)`,
      [
        { key: 'p50Ms', label: 'scrape time', unit: 'ms', better: 'lower' },
        { key: 'kib', label: 'body size (gzip)', unit: 'KiB', better: 'none' },
      ],
    );
    if (wanted(cfg, idle.id)) {
      specs.push({
        result: idle,
        job: (s) => ({ streams: [idleScrapes(s, u.idleScrapes, true)] }),
        values: (r) => {
          const st = streamOf(r, 'scrape');
          return {
            p50Ms: st.latencyMs.p50,
            kib: st.requests ? st.bytes / st.requests / 1024 : NaN,
            requests: st.requests,
            ok: st.ok,
          };
        },
      });
    }
    for (const rate of u.fleetRates) {
      for (const every of u.fleetIntervalsMs) {
        const res = newResult(
          `fleet-${g}-${rate}ps-${fmtRate(every)}`,
          `Fleet of ${g} hosts: ${rate} pushes/s offered, scrape every ${fmtRate(every)}`,
          `Open loop: PUTs of each host's ${FLEET_SERIES}-series body to /metrics/job/fleet/instance/host-<random i> scheduled ${rate}/s ` +
            `(at most ${u.fleetConnections} in flight, latency from the scheduled time, given up ${u.fleetPushTimeoutMs / 1000} s after it), ` +
            `while one scraper GETs /metrics every ${fmtRate(every)} with Prometheus' Accept header and gzip, abandoning after ` +
            `${u.scrapeTimeoutMs / 1000} s; ${u.fleetWindowMs / 1000} s windows`,
          FLEET_METRICS,
        );
        if (!wanted(cfg, res.id)) continue;
        specs.push({
          result: res,
          gcShare: true,
          job: (s) => ({
            streams: [
              openPush(s, {
                rate,
                windowMs: u.fleetWindowMs,
                connections: u.fleetConnections,
                timeoutMs: u.fleetPushTimeoutMs,
                groups: N,
                fleet: true,
              }),
              scrapeLoop(s, { intervalMs: every, windowMs: u.fleetWindowMs, timeoutMs: u.scrapeTimeoutMs }),
            ],
          }),
          values: (r) => {
            const p = streamOf(r, 'push');
            const sc = streamOf(r, 'scrape');
            return {
              achievedPct: (100 * p.ok) / Math.max(1, p.scheduled),
              pushesPerSec: p.okPerSec,
              pushP50Ms: p.latencyMs.p50,
              pushP99Ms: p.latencyMs.p99,
              scrapeP50Ms: sc.latencyMs.p50,
              scrapeP99Ms: sc.latencyMs.p99,
              scrapeTimeouts: sc.timeouts,
              scrapes: sc.requests,
              skippedTicks: sc.skippedTicks,
              requests: p.requests + sc.requests,
              ok: p.ok + sc.ok,
            };
          },
        });
      }
    }
    const prom = newResult(
      `prom-${g}`,
      `Real Prometheus scraping, fleet of ${g} hosts, ${u.promRate} pushes/s`,
      `Prometheus (Debian's /usr/bin/prometheus) scrapes both gateways (two jobs, honor_labels, interval and timeout 1 s) ` +
        `while the fleet pushes to one of them at ${u.promRate}/s for ${u.promWindowMs / 1000} s; the other is frozen (SIGSTOP) meanwhile. ` +
        'up and scrape_duration_seconds read back from Prometheus over that window, which starts once Prometheus has recorded two scrapes ' +
        'of that gateway (its first scrape creates every series, a one-off that takes Prometheus seconds)',
      [
        { key: 'upMin', label: 'min(up) over the window', unit: '', better: 'higher' },
        { key: 'upPct', label: 'scrapes that succeeded', unit: '%', better: 'higher' },
        { key: 'durP50S', label: 'scrape_duration_seconds p50', unit: 's', better: 'lower' },
        { key: 'durMaxS', label: 'scrape_duration_seconds max', unit: 's', better: 'lower' },
        { key: 'samplesMax', label: 'samples per scrape (max)', unit: '', better: 'none' },
        { key: 'achievedPct', label: 'pushes answered 2xx / offered', unit: '%', better: 'higher' },
        { key: 'pushP99Ms', label: 'push p99, from schedule', unit: 'ms', better: 'lower' },
      ],
    );
    const doProm = N === u.promGroups && wanted(cfg, prom.id);
    if (specs.length === 0 && !doProm) continue;
    cfg.log(`state: fleet of ${N} hosts × ${FLEET_SERIES} series`);
    const dir = makeTempDir('pgw-bench-fleet-');
    let servers: Record<Kind, RunningServer> | undefined;
    try {
      servers = await loadPair(
        cfg,
        out,
        `fleet-${g}`,
        { groups: N, series: FLEET_SERIES, path: FLEET_PATH, bodyFor: 'fleet' },
        dir,
      );
      await alternate(cfg, servers, specs, u.fleetRounds);
      for (const sp of specs) {
        loadAvgNote(sp.result);
        out.scenarios.push(sp.result);
      }
      if (doProm) {
        await prometheusScenario(cfg, servers, prom, dir, N);
        out.scenarios.push(prom);
      }
    } finally {
      if (servers) for (const k of KINDS) await stop(servers[k]);
      removeTempDir(dir);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus scraping both gateways during the fleet load.

interface Prom {
  url: string;
  proc: import('node:child_process').ChildProcess;
}

async function startPrometheus(dir: string, servers: Record<Kind, RunningServer>): Promise<Prom> {
  requireBinary(PROMETHEUS_BIN, 'prometheus');
  const lines = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
  ];
  for (const k of KINDS) {
    // A target label keeps the two gateways' copies of the same pushed series apart.
    lines.push(`  - job_name: ${k}`, '    honor_labels: true', '    static_configs:');
    lines.push(`      - targets: ["127.0.0.1:${servers[k].port}"]`, `        labels: {gateway: ${k}}`);
  }
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const port = await freePort();
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ];
  const proc = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  track(proc);
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`prometheus exited: ${log}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return { url, proc };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(proc);
      throw new Error(`prometheus not ready after 30 s: ${log}`);
    }
    await sleep(200);
  }
}

async function promValue(url: string, query: string, atMs: number): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${atMs / 1000}`, {
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as {
    status: string;
    data?: { result: Array<{ value: [number, string] }> };
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error ?? res.status}`);
  const first = body.data?.result[0];
  return first === undefined ? NaN : Number(first.value[1]);
}

// Prometheus' first scrape of a gateway creates all its series (460,000 for the 10k fleet: 5–8 s of
// Prometheus' CPU, once in its life); the window is Prometheus' steady state, so it starts once two
// scrapes of the gateway have been recorded since this call (scrapes of a target never overlap,
// so the second one began after any earlier scrape had been ingested). A gateway whose scrapes
// fail is recorded too (up 0); 30 s at most.
async function settled(url: string, kind: Kind): Promise<number> {
  const start = Date.now();
  for (;;) {
    await sleep(500);
    const since = Math.ceil((Date.now() - start) / 1000);
    const n = await promValue(url, `count_over_time(up{job="${kind}"}[${since}s])`, Date.now());
    if (n >= 2 || Date.now() - start > 30_000) return Date.now() - start;
  }
}

async function prometheusScenario(
  cfg: BenchConfig,
  servers: Record<Kind, RunningServer>,
  res: ScenarioResult,
  dir: string,
  N: number,
): Promise<void> {
  const u = cfg.users;
  cfg.log('  starting Prometheus scraping both gateways…');
  const prom = await startPrometheus(dir, servers);
  try {
    await sleep(3000); // a few scrapes of each before the first window
    for (let round = 0; round < u.promRounds; round++) {
      for (const [position, kind] of order(round).entries()) {
        const s = servers[kind];
        const other = servers[kind === 'ours' ? 'reference' : 'ours'];
        freeze(other, true);
        let r: JobResult;
        let t0: number;
        let t1: number;
        let promMs: number;
        let settleMs: number;
        let m0: number;
        let c0: number;
        try {
          await sleep(1500); // scrapes of the other gateway that were under way time out before the window
          settleMs = await settled(prom.url, kind);
          // Read at the window's start, as Prometheus' CPU: before the settling, Prometheus' ingest
          // during it (1-1.5 cores for 10-20 s) counted as other processes' CPU.
          m0 = machineBusyMs();
          c0 = cpuMs(s);
          const p0 = cpuMs({ proc: prom.proc });
          t0 = Date.now();
          r = await runLoad({
            streams: [
              openPush(s, {
                rate: u.promRate,
                windowMs: u.promWindowMs,
                connections: u.fleetConnections,
                timeoutMs: u.fleetPushTimeoutMs,
                groups: N,
                fleet: true,
              }),
            ],
          });
          t1 = Date.now();
          promMs = cpuMs({ proc: prom.proc }) - p0;
        } finally {
          freeze(other, false);
        }
        const serverMs = cpuMs(s) - c0;
        const machineMs = machineBusyMs() - m0;
        await sleep(2000); // the last scrape of the window lands in the TSDB
        const range = `${Math.floor((t1 - t0) / 1000)}s`;
        const sel = `{job="${kind}"}`;
        const q = (expr: string) => promValue(prom.url, expr, t1);
        const p = streamOf(r, 'push');
        const values: Record<string, number> = {
          upMin: await q(`min_over_time(up${sel}[${range}])`),
          upPct: 100 * (await q(`avg_over_time(up${sel}[${range}])`)),
          scrapesInWindow: await q(`count_over_time(up${sel}[${range}])`),
          durP50S: await q(`quantile_over_time(0.5, scrape_duration_seconds${sel}[${range}])`),
          durMaxS: await q(`max_over_time(scrape_duration_seconds${sel}[${range}])`),
          samplesMax: await q(`max_over_time(scrape_samples_scraped${sel}[${range}])`),
          achievedPct: (100 * p.ok) / Math.max(1, p.scheduled),
          pushP99Ms: p.latencyMs.p99,
          requests: p.requests,
          ok: p.ok,
          prometheusCores: promMs / (t1 - t0),
          serverCores: serverMs / (t1 - t0),
          loadCores: r.loadCpuMs / (t1 - t0),
          loadAvg1: loadAvg1(),
          settleMs,
        };
        values.otherCores = Math.max(0, (machineMs - serverMs - r.loadCpuMs - promMs) / (t1 - t0));
        const idleWaitMs = await waitIdle(s);
        values.idleWaitMs = idleWaitMs;
        const statuses: Record<string, number> = {};
        for (const [code, n] of Object.entries(p.statuses)) statuses[`push ${code}`] = n;
        const errors: Record<string, number> = {};
        for (const [e, n] of Object.entries(p.errors)) errors[`push ${e}`] = n;
        const round_: Round = {
          round,
          position,
          values,
          statuses,
          errors,
          samples: p.samples,
          non2xx: p.requests - p.ok,
          loadCpuMs: r.loadCpuMs,
          serverCpuMs: serverMs,
          wallMs: t1 - t0,
        };
        res.rounds[kind].push(round_);
        cfg.log(
          `  round ${round + 1}/${u.promRounds} ${res.id} ${kind.padEnd(9)} up min ${values.upMin} (${values.upPct.toFixed(0)} % of ${values.scrapesInWindow} scrapes), ` +
            `scrape_duration p50 ${values.durP50S.toFixed(3)} s max ${values.durMaxS.toFixed(3)} s, ${values.samplesMax} samples; ` +
            `pushes ${values.achievedPct.toFixed(0)} % p99 ${values.pushP99Ms.toFixed(0)} ms; Prometheus used ${values.prometheusCores.toFixed(2)} cores`,
        );
      }
    }
  } finally {
    await stopProcess(prom.proc);
  }
  finish(res);
  loadAvgNote(res);
  const pc = [...res.rounds.ours, ...res.rounds.reference].map((x) => x.values.prometheusCores.toFixed(2));
  res.notes.push(
    `Prometheus itself runs on the same 2 CPUs (it used ${pc.join(', ')} cores during the windows). A scrape that fails (timeout) has up = 0 and ` +
      'scrape_duration_seconds ≈ the timeout. The frozen gateway takes no CPU; its own scrapes fail meanwhile and are outside the queried window.',
  );
  const waits = [...res.rounds.ours, ...res.rounds.reference].map((x) => (x.values.settleMs / 1000).toFixed(1));
  res.notes.push(`Waits for two recorded scrapes before the windows: ${waits.join(', ')} s.`);
}

// ---------------------------------------------------------------------------------------------
// Pushes to a store of fixed size, with wrk, against the reference and a bare node:http server.

function wrkScript(dir: string, groups: number): string {
  const file = path.join(dir, 'push.lua');
  // A Lua long string holds the body verbatim.
  writeFileSync(
    file,
    [
      'local body = [==[' + pushBody(20) + ']==]',
      'local headers = { ["Content-Type"] = "text/plain; version=0.0.4" }',
      'function setup(thread) thread:set("seed", math.random(1, 1000000)) end',
      'function init(args) math.randomseed(os.time() + (seed or 0)) end',
      'function request()',
      `  return wrk.format("PUT", "/metrics/job/bench/instance/" .. math.random(0, ${groups - 1}), headers, body)`,
      'end',
    ].join('\n') + '\n',
  );
  return file;
}

function wrkMs(v: string, unit: string): number {
  const x = Number(v);
  return unit === 'us' ? x / 1000 : unit === 'ms' ? x : unit === 's' ? x * 1000 : unit === 'm' ? x * 60_000 : NaN;
}

/** Runs wrk against `port`; returns the figures in the shape of a Round. */
async function runWrk(
  port: number,
  script: string,
  seconds: number,
  connections: number,
  target: { proc: RunningServer['proc'] },
): Promise<Round> {
  const c0 = cpuMs(target);
  const m0 = machineBusyMs();
  const w0 = Date.now();
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '--latency',
    '-s',
    script,
    `http://127.0.0.1:${port}`,
  ];
  const proc = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(proc);
  let text = '';
  proc.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const killer = setTimeout(() => void stopProcess(proc, 1000), (seconds + 60) * 1000);
  // wrk's own CPU, read while it still runs (its /proc entry goes with it), to tell it from other processes'.
  let wrkCpuMs = 0;
  const sampler = setInterval(() => {
    try {
      wrkCpuMs = cpuMs({ proc });
    } catch {
      // exiting
    }
  }, 100);
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  clearInterval(sampler);
  clearTimeout(killer);
  const wallMs = Date.now() - w0;
  const serverCpuMs = cpuMs(target) - c0;
  const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? wrkMs(m[1], m[2]) : NaN;
  };
  if (code !== 0 || total === null) {
    return {
      round: 0,
      position: 0,
      values: {},
      statuses: {},
      errors: {},
      samples: [],
      non2xx: 0,
      loadCpuMs: NaN,
      serverCpuMs,
      wallMs,
      failure: `wrk exited ${code}: ${text.slice(-500)}`,
    };
  }
  const requests = Number(total[1]);
  const secs = Number(total[2]) * (total[3] === 'ms' ? 0.001 : 1);
  const errs = sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0;
  const ok = requests - non2xx;
  return {
    round: 0,
    position: 0,
    values: {
      pushesPerSec: ok / secs,
      p50Ms: pct('50'),
      p99Ms: pct('99'),
      requests,
      ok,
      serverCores: serverCpuMs / wallMs,
      loadCores: wrkCpuMs / wallMs,
      otherCores: Math.max(0, (machineBusyMs() - m0 - serverCpuMs - wrkCpuMs) / wallMs),
      loadAvg1: loadAvg1(),
    },
    statuses: { 'push 2xx': ok, ...(non2xx ? { 'push non-2xx': non2xx } : {}) },
    errors: sock && errs ? { 'push socket errors': errs } : {},
    samples: [],
    non2xx: non2xx + errs,
    loadCpuMs: wrkCpuMs,
    serverCpuMs,
    wallMs,
  };
}

async function startBare(): Promise<{ port: number; proc: RunningServer['proc'] }> {
  const port = await freePort();
  const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare.js');
  const proc = spawn(process.execPath, [...NODE_FLAGS, main, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  track(proc);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return { port, proc };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) {
      await stopProcess(proc);
      throw new Error('bare node:http server did not start');
    }
    await sleep(50);
  }
}

export async function fixedState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const u = cfg.users;
  const N = u.fixedGroups;
  const g = fmtGroups(N);
  const conns = cfg.pushConnections;
  const res = newResult(
    `fixed-${g}`,
    `Push to a fixed store of ${g} groups, random groups, ${conns} conns (wrk)`,
    `wrk (1 thread, ${conns} connections, ${u.fixedWindowS} s) PUTs a ${cfg.series}-series text body to a random one of ${N} stored groups, ` +
      'so the store keeps its size; also against a bare node:http server that reads the body and answers 200, with the same Node settings',
    [
      { key: 'pushesPerSec', label: 'pushes/s', unit: '/s', better: 'higher' },
      { key: 'p50Ms', label: 'push p50', unit: 'ms', better: 'lower' },
      { key: 'p99Ms', label: 'push p99', unit: 'ms', better: 'lower' },
    ],
  );
  if (!wanted(cfg, res.id)) return;
  cfg.log(`state: fixed store of ${N} groups × ${cfg.series} series, wrk`);
  const dir = makeTempDir('pgw-bench-fixed-');
  let servers: Record<Kind, RunningServer> | undefined;
  let bare: Awaited<ReturnType<typeof startBare>> | undefined;
  try {
    servers = await loadPair(cfg, out, `fixed-${g}`, { groups: N, series: cfg.series }, dir);
    bare = await startBare();
    const baseline = { label: 'bare node:http', rounds: [] as Round[], median: {} };
    res.baseline = baseline;
    const script = wrkScript(dir, N);
    type Target = { name: string; port: number; proc: RunningServer['proc']; rounds: Round[] };
    const targets: Target[] = [
      { name: 'ours', port: servers.ours.port, proc: servers.ours.proc, rounds: res.rounds.ours },
      { name: 'reference', port: servers.reference.port, proc: servers.reference.proc, rounds: res.rounds.reference },
      { name: 'bare', port: bare.port, proc: bare.proc, rounds: baseline.rounds },
    ];
    for (let round = 0; round < cfg.rounds; round++) {
      for (let position = 0; position < targets.length; position++) {
        const t = targets[(round + position) % targets.length];
        if (!alive(t)) throw new Error(`${t.name} exited`);
        const r = await runWrk(t.port, script, u.fixedWindowS, conns, t);
        r.round = round;
        r.position = position;
        r.values.idleWaitMs = await waitIdle(t);
        t.rounds.push(r);
        const v = r.values;
        cfg.log(
          `  round ${round + 1}/${cfg.rounds} ${res.id} ${t.name.padEnd(9)} ` +
            (r.failure
              ? `FAILED: ${r.failure}`
              : `pushes/s=${v.pushesPerSec.toFixed(0)} p50=${v.p50Ms.toFixed(2)} p99=${v.p99Ms.toFixed(2)}${r.non2xx ? ` non2xx=${r.non2xx}` : ''}`),
        );
      }
    }
    finish(res);
    loadAvgNote(res);
    const ob = res.median.ours.pushesPerSec / (baseline.median as Record<string, number>).pushesPerSec;
    res.notes.push(
      `Ours reaches ${(100 * ob).toFixed(0)} % of the push rate of a bare node:http server that only reads the body (same run, same Node settings). ` +
        "wrk (C) is the load generator here, so the Node load generator's CPU does not cap the bare server.",
    );
    out.scenarios.push(res);
  } finally {
    if (bare) await stopProcess(bare.proc);
    if (servers) for (const k of KINDS) await stop(servers[k]);
    removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// A million series (50,000 groups × 20): scrape times idle and right after a push, and pushes
// while such a scrape is being sent.

export async function bigState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const u = cfg.users;
  const N = u.bigGroups;
  const total = N * cfg.series;
  const id = `big-${seriesLabel(total)}`;
  const desc = `${N} groups × ${cfg.series} series (${total.toLocaleString('en-US')} series)`;
  const scrapeMetrics = (what: string): MetricDef[] => [
    { key: 'seconds', label: what, unit: 's', better: 'lower' },
    { key: 'mib', label: 'body size', unit: 'MiB', better: 'none' },
  ];
  const scrapeValues = (r: JobResult) => {
    const st = r.streams.filter((x) => x.name === 'scrape');
    const n = st.reduce((a, x) => a + x.requests, 0);
    const lat = st.map((x) => x.latencyMs.p50).sort((a, b) => a - b);
    return {
      seconds: lat[lat.length >> 1] / 1000,
      mib: n ? st.reduce((a, x) => a + x.bytes, 0) / n / 1048576 : NaN,
      requests: r.streams.reduce((a, x) => a + x.requests, 0),
      ok: r.streams.reduce((a, x) => a + x.ok, 0),
    };
  };
  const reps = u.bigScrapes;
  const specs: Spec[] = [];
  const add = (spec: Spec) => {
    if (wanted(cfg, spec.result.id)) specs.push(spec);
  };
  add({
    result: newResult(
      `${id}-scrape`,
      `${seriesLabel(total)} series: idle scrape`,
      `GET /metrics with Prometheus' Accept header, no gzip, ${reps} one after the other; ${desc}`,
      scrapeMetrics('scrape time'),
    ),
    job: (s) => ({ streams: [idleScrapes(s, reps, false)] }),
    values: scrapeValues,
  });
  add({
    result: newResult(
      `${id}-scrape-gzip`,
      `${seriesLabel(total)} series: idle scrape, gzip`,
      `As ${id}-scrape with Accept-Encoding: gzip (compressed size)`,
      scrapeMetrics('scrape time'),
    ),
    job: (s) => ({ streams: [idleScrapes(s, reps, true)] }),
    values: scrapeValues,
  });
  // Each push gives the group new values, as a job's next run does (its same body again would
  // leave every family's lines as they were).
  const onePush = (s: RunningServer, k: number): StreamSpec => ({
    name: 'push',
    method: 'PUT',
    port: s.port,
    path: GROUP_PATH,
    first: Math.floor(N / 2),
    body: pushBody(cfg.series, k + 1),
    connections: 1,
    durationMs: 600_000,
    maxRequests: 1,
    timeoutMs: 300_000,
  });
  add({
    result: newResult(
      `${id}-after-push`,
      `${seriesLabel(total)} series: scrape right after one push`,
      `PUT of one stored group with new values, and as soon as it is answered a GET /metrics as Prometheus asks (gzip); ${reps} times`,
      scrapeMetrics('scrape time'),
    ),
    job: (s) => ({
      sequential: true,
      streams: Array.from({ length: reps }, (_, k) => [onePush(s, k), idleScrapes(s, 1, true)]).flat(),
    }),
    values: scrapeValues,
  });
  add({
    result: newResult(
      `${id}-push-during-scrape`,
      `${seriesLabel(total)} series: pushes while scrapes are sent`,
      `One client scrapes /metrics back to back (Prometheus' headers, gzip) while pushes of a ${cfg.series}-series body to random stored groups are ` +
        `scheduled ${u.bigPushRate}/s (open loop, at most ${u.bigPushConnections} in flight, latency from the schedule, given up after ` +
        `${u.fleetPushTimeoutMs / 1000} s); ${u.bigWindowMs / 1000} s windows`,
      [
        { key: 'pushP50Ms', label: 'push p50, from schedule', unit: 'ms', better: 'lower' },
        { key: 'pushP99Ms', label: 'push p99, from schedule', unit: 'ms', better: 'lower' },
        { key: 'achievedPct', label: 'pushes answered 2xx / offered', unit: '%', better: 'higher' },
        { key: 'scrapes', label: 'scrapes completed', unit: '', better: 'higher' },
      ],
    ),
    job: (s) => ({
      streams: [
        openPush(s, {
          rate: u.bigPushRate,
          windowMs: u.bigWindowMs,
          connections: u.bigPushConnections,
          timeoutMs: u.fleetPushTimeoutMs,
          groups: N,
          fleet: false,
        }),
        { ...idleScrapes(s, 1_000_000, true), durationMs: u.bigWindowMs },
      ],
    }),
    values: (r) => {
      const p = streamOf(r, 'push');
      const sc = streamOf(r, 'scrape');
      return {
        pushP50Ms: p.latencyMs.p50,
        pushP99Ms: p.latencyMs.p99,
        achievedPct: (100 * p.ok) / Math.max(1, p.scheduled),
        scrapes: sc.ok,
        requests: p.requests + sc.requests,
        ok: p.ok + sc.ok,
      };
    },
  });
  if (specs.length === 0) return;
  cfg.log(`state: ${desc}`);
  const dir = makeTempDir('pgw-bench-big-');
  let servers: Record<Kind, RunningServer> | undefined;
  try {
    servers = await loadPair(cfg, out, id, { groups: N, series: cfg.series }, dir);
    await alternate(cfg, servers, specs, u.bigRounds);
    for (const sp of specs) {
      loadAvgNote(sp.result);
      out.scenarios.push(sp.result);
    }
  } finally {
    if (servers) for (const k of KINDS) await stop(servers[k]);
    removeTempDir(dir);
  }
}
