// `npm run bench [-- --quick] [--rounds=N] [--only=id,id] [--out=file] [--no-docs]`
//
// Side-by-side benchmark of our gateway and the Go reference, in one run: both are started on
// free loopback ports, brought to the same content, then measured in alternating rounds by a load
// generator in a separate process (bench/load.ts). Prints a table of medians and the ours/ref
// ratio, writes bench/results.json, and (full runs) docs/performance-push.svg and the generated
// part of docs/performance.md. `--quick` uses small sizes and 1 s windows: it proves the
// benchmark works, its numbers mean little.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceAvailable } from '../test/support/servers.js';
import { pushChart } from './chart.js';
import { killAllNow, loadAvg1, stopAll, waitQuiet } from './gateways.js';
import { machineInfo, type MachineInfo } from './machine.js';
import {
  busyNotes,
  consoleTable,
  generatedSection,
  markdownTable,
  mergeDoc,
  otherCpu,
  problems,
  rows,
  type Row,
} from './report.js';
import {
  emptyState,
  noLossState,
  largeState,
  memoryState,
  midState,
  startupState,
  type BenchConfig,
  type BenchOutput,
} from './scenarios.js';
import { bigState, fixedState, fleetState, isUsersScenario, usersConfig } from './users.js';
import { authFloodState, authRateState } from './authflood.js';
import { bigPushState } from './bigpush.js';
import { ttlState } from './ttl.js';
import { replicasState } from './replicas.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Args {
  quick: boolean;
  rounds?: number;
  only: string[];
  out?: string;
  docs: boolean;
  waitQuietS?: number;
  retries?: number;
  reportOnly?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, only: [], docs: true };
  for (const arg of argv) {
    if (arg === '--quick') a.quick = true;
    else if (arg === '--no-docs') a.docs = false;
    else if (arg.startsWith('--rounds=')) a.rounds = Math.max(1, Math.min(20, Number(arg.slice(9)) || 1));
    else if (arg.startsWith('--only=')) a.only = arg.slice(7).split(',').filter(Boolean);
    else if (arg.startsWith('--out=')) a.out = arg.slice(6);
    else if (arg === '--report-only') a.reportOnly = path.join(ROOT, 'bench', 'results.json');
    else if (arg.startsWith('--report-only=')) a.reportOnly = arg.slice(14);
    else if (arg.startsWith('--wait-quiet=')) a.waitQuietS = Math.max(0, Math.min(1800, Number(arg.slice(13)) || 0));
    else if (arg.startsWith('--retries=')) a.retries = Math.max(0, Math.min(100, Number(arg.slice(10)) || 0));
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--quick] [--rounds=N] [--only=push-0,seq-1k,...] [--out=results.json] [--no-docs] [--wait-quiet=S] [--retries=N]\n' +
          '  --quick     small sizes, 1 s windows, 2 rounds; writes bench/results.quick.json, never the docs\n' +
          '  --only      run only scenarios whose id starts with one of these: what users run (fleet, fleet-10k,\n' +
          '              fleet-1k-200ps-1s, prom, fixed, big; quick runs use smaller sizes: fleet-300, prom-300, big-40k)\n' +
          '              and microbenchmarks (push-0, seq-0, sync, push-1k, scrape-1k, scrape-1k-gzip, mixed-1k, seq-1k,\n' +
          '              push-10k, memory-10kx20, memory-100kx10, startup), and authflood (basic auth: a good client\n' +
          '              alone and during a wrong-password flood, authflood-quiet and authflood-20), authrate\n' +
          '              (permissions per credential, a good client alone and next to 1,000 wrong passwords a second,\n' +
          '              authrate-quiet and authrate-1000ps), bigpush-250k,\n' +
          '              bigpush-1m (one large push, health checks meanwhile), ttl-100k (group expiry: lag, and\n' +
          '              store writes/s with TTLs against without; quick: ttl-1k), replicas-1 and replicas-3 (ours on\n' +
          '              Redis, 1 and 3 replicas, against the embedded store; quick: one round of 1 s windows)\n' +
          '  --no-docs   do not write docs/performance.md and docs/performance-push.svg\n' +
          '  --wait-quiet=S  first wait up to S seconds (full run default 60, quick 0) for other processes to\n' +
          '              leave the CPUs alone (< 0.3 cores busy over 3 s)\n' +
          '  --retries=N measure a window again when other processes used >= 0.5 cores during it, at most N\n' +
          '              times per run (full run default 5, quick 0), after waiting up to 10 s for quiet\n' +
          '  --report-only[=FILE[,FILE...]]  run nothing; print the table and rewrite the docs (unless --no-docs) from saved results\n' +
          "              (default bench/results.json); several files are merged, the first one's scenarios first and\n" +
          "              winning over the others' (e.g. a full --only=fleet,prom,fixed,big run with bench/results.json)\n",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return a;
}

function config(a: Args): BenchConfig {
  const log = (m: string) => process.stdout.write(m + '\n');
  const base = {
    users: usersConfig(a.quick),
    noisyCores: 0.5,
    series: 20,
    memSeries: 10,
    pushConnections: 32,
    scrapeConnections: 4,
    preloadConnections: 8,
    requestTimeoutMs: 60_000,
    only: a.only,
    log,
  };
  if (a.quick) {
    return {
      ...base,
      quick: true,
      retries: { left: a.retries ?? 0, waitMs: 2000 },
      rounds: a.rounds ?? 2,
      largeRounds: a.rounds ?? 2,
      durationMs: 1000,
      longDurationMs: 1000,
      warmupMs: 300,
      settleMs: 200,
      idleMs: 500,
      groupsMid: 100,
      groupsLarge: 300,
      memGroups: 1000,
      startupGroups: 1000,
      startupRounds: 1,
      preloadBudgetMs: 30_000,
    };
  }
  return {
    ...base,
    quick: false,
    retries: { left: a.retries ?? 5, waitMs: 10_000 },
    rounds: a.rounds ?? 5,
    largeRounds: Math.min(a.rounds ?? 5, 3),
    durationMs: 5000,
    longDurationMs: 10_000,
    warmupMs: 2000,
    settleMs: 3000,
    idleMs: 15_000,
    groupsMid: 1000,
    groupsLarge: 10_000,
    memGroups: 100_000,
    startupGroups: 50_000,
    startupRounds: 3,
    preloadBudgetMs: 180_000,
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.reportOnly !== undefined) return reportOnly(args.reportOnly, args.docs);
  const cfg = config(args);
  if (!referenceAvailable())
    throw new Error(
      'the reference Pushgateway is not installed (set REFERENCE_PUSHGATEWAY or install prometheus-pushgateway)',
    );
  const machine = machineInfo();
  const waitS = args.waitQuietS ?? (cfg.quick ? 0 : 60);
  if (waitS > 0) {
    // Quiet = under 0.3 busy cores over three consecutive 3 s samples.
    const quiet = await waitQuiet({
      cores: 0.3,
      maxMs: waitS * 1000,
      sampleMs: 3000,
      samples: 3,
      onBusy: (c) => cfg.log(`waiting for a quiet machine: other processes use ${c.toFixed(2)} cores`),
    });
    if (!quiet) cfg.log(`the machine is still busy after waiting ${waitS} s; starting anyway`);
  }
  const started = Date.now();
  const loadAvgStart = loadAvg1();
  cfg.log(
    `bench${cfg.quick ? ' --quick' : ''}: ${cfg.rounds} rounds, ${cfg.durationMs / 1000} s windows; ` +
      `${machine.nproc} CPUs (${machine.cpuModel}); ours ${machine.oursCommit}${machine.oursSrcDirty ? '+dirty' : ''}; ${machine.reference}`,
  );
  const out: BenchOutput = { scenarios: [], preloads: [], notes: [] };
  const resultsFile = path.resolve(
    args.out ?? path.join(ROOT, 'bench', cfg.quick ? 'results.quick.json' : 'results.json'),
  );
  /** The results so far, written to resultsFile (and printed). */
  const save = (): SavedResults => {
    const { log: _log, ...cfgJson } = cfg;
    void _log;
    const results: SavedResults = {
      generatedAt: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: cfg.quick ? 'quick' : 'full',
      totalSeconds: (Date.now() - started) / 1000,
      config: cfgJson,
      machine,
      loadAvg: { start: loadAvgStart, end: loadAvg1() },
      otherCpu: otherCpu(out),
      table: rows(out.scenarios),
      problems: problems(out),
      ...out,
    };
    printSummary(results);
    writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(`\nwrote ${path.relative(process.cwd(), resultsFile)}\n`);
    return results;
  };
  // Whole-run watchdog: stop the servers and give up rather than run forever, keeping what was
  // measured (a full run of what users run waits ~90 s after each of the reference's busy windows).
  const watchdogMs = (cfg.quick ? 8 : 150) * 60_000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: watchdog: still running after ${watchdogMs / 60000} min, stopping servers\n`);
    killAllNow();
    out.notes.push(
      `The run was stopped by its watchdog after ${watchdogMs / 60000} min; the scenarios after the last one shown were not run.`,
    );
    save();
    process.exit(2);
  }, watchdogMs);
  watchdog.unref();
  let failed = false;
  for (const state of [
    fleetState,
    fixedState,
    bigState,
    emptyState,
    noLossState,
    midState,
    largeState,
    memoryState,
    startupState,
    authFloodState,
    authRateState,
    bigPushState,
    ttlState,
    replicasState,
  ]) {
    try {
      await state(cfg, out);
    } catch (e) {
      failed = true;
      const msg = `${state.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      process.stderr.write(msg + '\n');
      out.notes.push(msg.split('\n')[0]);
    } finally {
      await stopAll();
    }
  }
  const results = save();
  if (!cfg.quick && args.docs && cfg.only.length === 0) writeDocs(results);
  process.stdout.write(`total ${(results.totalSeconds / 60).toFixed(1)} min\n`);
  return failed ? 1 : 0;
}

interface SavedResults extends BenchOutput {
  generatedAt: string;
  mode: 'quick' | 'full';
  totalSeconds: number;
  config: Omit<BenchConfig, 'log'>;
  machine: MachineInfo;
  loadAvg: { start: number; end: number };
  otherCpu: ReturnType<typeof otherCpu>;
  table: Row[];
  problems: string[];
  /** When these results were merged from several runs (--report-only=a,b): which scenarios came from which. */
  runs?: RunInfo[];
}

interface RunInfo {
  when: string;
  commit: string;
  minutes: number;
  loadAvg: { start: number; end: number };
  ids: string[];
}

function roundsText(r: SavedResults): string {
  const c = r.config;
  return (
    `${c.rounds} alternating rounds per scenario` +
    (c.largeRounds !== c.rounds ? ` (${c.largeRounds} for pushes at ${c.groupsLarge} groups)` : '') +
    ', memory measured once'
  );
}

function printSummary(r: SavedResults): void {
  process.stdout.write(
    `\nMedians: ${roundsText(r)} (↑ higher is better, ↓ lower is better; "!" = non-2xx answers, failures or caps; "busy" = other processes used the CPUs, see below)\n\n`,
  );
  process.stdout.write(consoleTable(r.table) + '\n');
  if (r.problems.length) {
    process.stdout.write('\nProblems and notes:\n');
    for (const p of r.problems) process.stdout.write(`  - ${p}\n`);
  }
  for (const n of busyNotes(r.scenarios)) process.stdout.write(`  ~ ${n}\n`);
  const oc = r.otherCpu;
  if (oc.windows > 0) {
    process.stdout.write(
      `\nOther CPU use on the machine during windows: median ${oc.median.toFixed(2)} cores, max ${oc.max.toFixed(2)} ` +
        `(${oc.busyWindows}/${oc.windows} windows ≥ 0.25 cores); load average ${r.loadAvg.start.toFixed(2)} → ${r.loadAvg.end.toFixed(2)}\n`,
    );
  }
}

/** docs/performance-push.svg and the generated section of docs/performance.md. */
function writeDocs(r: SavedResults): void {
  const cfg = r.config;
  const byId = (id: string) => r.scenarios.find((s) => s.id === id);
  const gm = cfg.groupsMid / 1000;
  const gl = cfg.groupsLarge / 1000;
  const pts = [byId('push-0'), byId(`push-${gm}k`), byId(`push-${gl}k`)];
  // Merged results: the date of the run the chart's figures come from.
  const chartDate = r.runs?.find((x) => x.ids.includes('push-0'))?.when ?? r.generatedAt;
  const svg = pushChart({
    title: 'Push throughput against stored groups',
    subtitle: `PUT of ${cfg.series} series, ${cfg.pushConnections} connections; medians; ${r.machine.nproc} CPUs; ${chartDate.slice(0, 10)}`,
    xTitle: `groups already stored (× ${cfg.series} series)`,
    yTitle: 'pushes per second (log scale)',
    xLabels: ['0 (empty at start)', `${gm}k`, `${gl}k`],
    series: [
      { name: 'ours', color: '#1f77b4', values: pts.map((s) => s?.median.ours.pushesPerSec ?? NaN) },
      { name: 'reference 1.5.1', color: '#d62728', values: pts.map((s) => s?.median.reference.pushesPerSec ?? NaN) },
    ],
  });
  writeFileSync(path.join(ROOT, 'docs', 'performance-push.svg'), svg);
  const docFile = path.join(ROOT, 'docs', 'performance.md');
  const generated = generatedSection({
    when: r.generatedAt,
    machine: r.machine,
    roundsText: roundsText(r),
    totalSeconds: r.totalSeconds,
    loadAvg: r.loadAvg,
    table:
      '#### What users run\n\n' +
      markdownTable(r.table.filter((x) => isUsersScenario(x.scenario))) +
      '\n\n#### Microbenchmarks\n\n' +
      markdownTable(r.table.filter((x) => !isUsersScenario(x.scenario))),
    runs: r.runs?.map(
      (x) =>
        `${x.when}, ours at \`${x.commit}\`, ${x.minutes.toFixed(1)} min, 1-minute load average ${x.loadAvg.start.toFixed(2)} → ${x.loadAvg.end.toFixed(2)}: ` +
        x.ids.map((id) => `\`${id}\``).join(', '),
    ),
    out: r,
    chartFile: 'performance-push.svg',
  });
  writeFileSync(
    docFile,
    mergeDoc(docFile, generated, (g) => `# Performance\n\n${g}\n`),
  );
  process.stdout.write('wrote docs/performance.md (generated section) and docs/performance-push.svg\n');
}

/** Results of several runs as one: each scenario from the first file that has it. */
function mergeResults(files: string[]): SavedResults {
  const all = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as SavedResults);
  if (all.length === 1) return all[0];
  if (all.some((r) => r.mode !== all[0].mode)) throw new Error('cannot merge quick and full results');
  const seen = new Set<string>();
  const runs: RunInfo[] = [];
  const scenarios: SavedResults['scenarios'] = [];
  for (const r of all) {
    const mine = r.scenarios.filter((s) => !seen.has(s.id));
    for (const s of mine) seen.add(s.id);
    scenarios.push(...mine);
    const m = r.machine;
    runs.push({
      when: r.generatedAt,
      commit: m.oursCommit + (m.oursSrcDirty ? '+dirty' : ''),
      minutes: r.totalSeconds / 60,
      loadAvg: r.loadAvg,
      ids: mine.map((s) => s.id),
    });
  }
  const merged: SavedResults = {
    ...all[0],
    totalSeconds: all.reduce((a, r) => a + r.totalSeconds, 0),
    scenarios,
    preloads: all.flatMap((r) => r.preloads),
    notes: all.flatMap((r) => r.notes),
    runs,
  };
  merged.otherCpu = otherCpu(merged);
  return merged;
}

/** `--report-only[=file,...]`: rebuild the summary and the docs from saved results, without running anything. */
function reportOnly(files: string, docs: boolean): number {
  const saved = mergeResults(files.split(',').filter(Boolean));
  saved.table = rows(saved.scenarios);
  saved.problems = problems(saved);
  printSummary(saved);
  if (!docs) process.stdout.write('(--no-docs: docs not written)\n');
  else if (saved.mode === 'full') writeDocs(saved);
  else process.stdout.write('(quick results: docs not written)\n');
  return 0;
}

// Stop every server we started, whatever happens.
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench: ${sig}, stopping servers\n`);
    killAllNow();
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
