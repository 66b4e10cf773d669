// Crash tests with real processes, real files and real signals: pushes under load from a few
// concurrent clients on loopback, `kill -9` of the gateway (by the PID we started) at random
// moments, a restart on the same --persistence.file, and a check of what came back.
//
// Every client's series is a register: each write sets it (a PUT or POST with a new, increasing
// value, or a DELETE), so the state of a series after any sequence of writes is the state its
// last applied write left. The checks are therefore, per series:
//  - no-loss mode (--persistence.sync): the state after restart is the one left by a write at or
//    after the last acknowledged one (acknowledged = answered 200/202 before the kill), and at or
//    before the last one sent; no acknowledged push is lost;
//  - default mode (--persistence.interval=1s): the state is the one of the last snapshot on disk:
//    every write acknowledged before the snapshot was taken (its header's writtenAt) is back, and
//    nothing sent after it is; so the whole store is a state it had at that moment;
//  - after a clean SIGTERM, in both modes, every acknowledged write is back.
// Damaged files: a truncated or corrupt snapshot stops the start (exit code 1) with a message
// naming the file, the line and the byte; --persistence.start-empty-on-error starts empty.
//
// CRASH_SEED=<n> replays other kill moments; CRASH_KILLS=<n> sets the kills per mode.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { freePort, OURS_MAIN, startServer, type RunningServer } from '../support/servers.js';
import { seeded } from '../support/random.js';

const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : 424242;
const KILLS = process.env.CRASH_KILLS !== undefined ? Number(process.env.CRASH_KILLS) : 10;
const PUSH_CLIENTS = 4;
const DELETE_CLIENTS = 1;
const REQUEST_TIMEOUT_MS = 10_000;

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-crash-'));
const running = new Set<RunningServer>();
after(async () => {
  for (const s of running) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// HTTP.

function send(
  agent: Agent,
  port: number,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

interface GroupJson {
  labels: Record<string, string>;
  [family: string]: unknown;
}

async function readGroups(port: number): Promise<GroupJson[]> {
  const agent = new Agent({ keepAlive: false });
  const r = await send(agent, port, 'GET', '/api/v1/metrics');
  assert.equal(r.status, 200);
  return (JSON.parse(r.body) as { data: GroupJson[] }).data;
}

// ---------------------------------------------------------------------------------------------
// Series as registers: each write sets the state of one series.

/** Where a series lives: a group (its grouping labels) and a family in it. */
interface SeriesKey {
  id: string;
  labels: Record<string, string>;
  family: string;
}

interface Write {
  /** The state the write leaves: a value, or undefined for a delete. */
  value: number | undefined;
  sentAt: number;
  /** When the answer arrived (200/202), undefined if none did. */
  ackedAt?: number;
}

class Series {
  readonly writes: Write[] = [];
  constructor(readonly key: SeriesKey) {}

  /** Index of the last write acknowledged before `t` (-1: none). */
  lastAckedBefore(t: number): number {
    let j = -1;
    this.writes.forEach((w, i) => {
      if (w.ackedAt !== undefined && w.ackedAt < t) j = i;
    });
    return j;
  }

  /** Index of the last write sent at or before `t` (-1: none). */
  lastSentBy(t: number): number {
    let j = -1;
    this.writes.forEach((w, i) => {
      if (w.sentAt <= t) j = i;
    });
    return j;
  }
}

function stateIn(groups: GroupJson[], key: SeriesKey): number | undefined {
  const g = groups.find((x) => JSON.stringify(x.labels) === JSON.stringify(key.labels));
  const fam = g?.[key.family] as { metrics: Array<{ value: string }> } | undefined;
  if (fam === undefined) return undefined;
  return Number(fam.metrics[0].value);
}

function describeState(v: number | undefined): string {
  return v === undefined ? 'absent' : String(v);
}

interface Verdict {
  /** Acknowledged writes whose effect is missing after the restart. */
  lostAcked: number;
  problems: string[];
}

/**
 * The restored state of each series must be the state left by one of its writes with index in
 * [lo, hi] (lo = -1: the state before any write, i.e. absent). Counts the acknowledged writes
 * lost when the state is older than `lo`.
 */
function judge(all: Series[], groups: GroupJson[], bounds: (s: Series) => { lo: number; hi: number }): Verdict {
  const v: Verdict = { lostAcked: 0, problems: [] };
  for (const s of all) {
    const { lo, hi } = bounds(s);
    const got = stateIn(groups, s.key);
    // Values are unique per series, so a value names its write; absent matches any delete.
    const matches: number[] = [];
    if (got === undefined && lo === -1) matches.push(-1);
    s.writes.forEach((w, i) => {
      if (w.value === got) matches.push(i);
    });
    const ok = matches.some((i) => i >= lo && i <= hi);
    if (ok) continue;
    const older = matches.filter((i) => i < lo);
    const newer = matches.filter((i) => i > hi);
    if (matches.length === 0) {
      v.problems.push(`${s.key.id}: restored ${describeState(got)}, which no write ever set`);
      if (lo >= 0) v.lostAcked += s.writes.slice(0, lo + 1).filter((w) => w.ackedAt !== undefined).length;
    } else if (older.length > 0 && newer.length === 0) {
      const j = Math.max(...older);
      const lost = s.writes.slice(j + 1, lo + 1).filter((w) => w.ackedAt !== undefined).length;
      v.lostAcked += lost;
      v.problems.push(
        `${s.key.id}: restored ${describeState(got)} (write #${j}), but write #${lo} (${describeState(s.writes[lo].value)}) was acknowledged: ${lost} acknowledged write(s) lost`,
      );
    } else {
      v.problems.push(
        `${s.key.id}: restored ${describeState(got)} (write #${matches.join('/')}), newer than the last write allowed (#${hi})`,
      );
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Load: push clients (each its own group with PUT, and its own family in a shared group with
// POST) and delete clients (PUT then DELETE of a few groups of their own, in turn).

const BULK = Array.from({ length: 20 }, (_, i) => `crash_bulk{i="${i}"} `);

class Load {
  private stopped = false;
  private readonly agents: Agent[] = [];
  private runs: Array<Promise<void>> = [];
  private failures: unknown[] = [];
  errors = 0;
  acked = 0;

  constructor(
    private readonly series: Map<string, Series>,
    private readonly counter: { n: number },
  ) {}

  private seriesFor(key: SeriesKey): Series {
    let s = this.series.get(key.id);
    if (s === undefined) {
      s = new Series(key);
      this.series.set(key.id, s);
    }
    return s;
  }

  private async write(
    agent: Agent,
    port: number,
    s: Series,
    method: string,
    urlPath: string,
    value: number | undefined,
    body?: string,
  ): Promise<boolean> {
    const w: Write = { value, sentAt: Date.now() };
    s.writes.push(w);
    try {
      const r = await send(agent, port, method, urlPath, body);
      const ok = method === 'DELETE' ? r.status === 202 : r.status === 200;
      if (!ok) throw new Error(`${method} ${urlPath}: ${r.status} ${r.body}`);
      w.ackedAt = Date.now();
      this.acked++;
      return true;
    } catch (e) {
      // The server was killed: no answer. Anything else is a failure of the test.
      if (!this.dying) {
        this.errors++;
        throw e;
      }
      return false;
    }
  }

  private dying = false;

  private track(run: Promise<void>): void {
    this.runs.push(run.catch((e: unknown) => void this.failures.push(e)));
  }

  start(port: number): void {
    this.stopped = false;
    this.dying = false;
    for (let c = 0; c < PUSH_CLIENTS; c++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      const own = this.seriesFor({
        id: `own/c${c}`,
        labels: { instance: `c${c}`, job: 'crash' },
        family: 'crash_value',
      });
      const shared = this.seriesFor({
        id: `shared/c${c}`,
        labels: { job: 'crash_shared' },
        family: `crash_shared_c${c}`,
      });
      this.track(
        (async () => {
          while (!this.stopped) {
            const n = ++this.counter.n;
            const bulk = BULK.map((b) => b + n).join('\n');
            const okOwn = await this.write(
              agent,
              port,
              own,
              'PUT',
              `/metrics/job/crash/instance/c${c}`,
              n,
              `# TYPE crash_value gauge\ncrash_value ${n}\n${bulk}\n`,
            );
            if (!okOwn) break;
            const m = ++this.counter.n;
            const okShared = await this.write(
              agent,
              port,
              shared,
              'POST',
              '/metrics/job/crash_shared',
              m,
              `crash_shared_c${c} ${m}\n`,
            );
            if (!okShared) break;
          }
        })(),
      );
    }
    for (let d = 0; d < DELETE_CLIENTS; d++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      const keys = [0, 1, 2].map((k) =>
        this.seriesFor({
          id: `del/d${d}k${k}`,
          labels: { instance: `d${d}k${k}`, job: 'crash_del' },
          family: 'crash_del_value',
        }),
      );
      this.track(
        (async () => {
          for (let i = 0; !this.stopped; i++) {
            const s = keys[i % keys.length];
            const urlPath = `/metrics/job/crash_del/instance/${s.key.labels.instance}`;
            const last = s.writes.at(-1);
            const ok =
              last !== undefined && last.value !== undefined
                ? await this.write(agent, port, s, 'DELETE', urlPath, undefined)
                : await this.write(
                    agent,
                    port,
                    s,
                    'PUT',
                    urlPath,
                    ++this.counter.n,
                    `crash_del_value ${this.counter.n}\n`,
                  );
            if (!ok) break;
          }
        })(),
      );
    }
  }

  /** Right before a kill: requests in flight may now fail, and no new ones start. */
  expectDeath(): void {
    this.dying = true;
    this.stopped = true;
  }

  /** After the server is gone (or before a clean stop): every client settles. */
  async stop(): Promise<void> {
    this.stopped = true;
    const runs = this.runs;
    this.runs = [];
    await Promise.all(runs);
    for (const a of this.agents) a.destroy();
    this.agents.length = 0;
    const failures = this.failures;
    this.failures = [];
    if (failures.length > 0) throw failures[0];
  }
}

async function killHard(s: RunningServer): Promise<void> {
  const exited = new Promise<void>((r) =>
    s.proc.exitCode !== null || s.proc.signalCode !== null ? r() : s.proc.once('exit', () => r()),
  );
  process.kill(s.proc.pid!, 'SIGKILL');
  await exited;
  running.delete(s);
}

async function start(flags: string[]): Promise<RunningServer> {
  const s = await startServer('ours', flags, { timeoutMs: 30_000 });
  running.add(s);
  return s;
}

async function stopClean(s: RunningServer): Promise<void> {
  await s.stop();
  running.delete(s);
  assert.equal(s.proc.exitCode, 0, `clean stop exited with ${s.proc.exitCode}: ${s.output().slice(-2000)}`);
}

/** The lines of a snapshot (gzip-compressed since format version 3). */
function snapshotText(bytes: Buffer): string {
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

function snapshotHeader(file: string): { writtenAt: string; walSegment: number } {
  return JSON.parse(snapshotText(readFileSync(file)).split('\n', 1)[0]) as { writtenAt: string; walSegment: number };
}

function snapshotWrittenAt(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  return Date.parse(snapshotHeader(file).writtenAt);
}

// ---------------------------------------------------------------------------------------------

interface ModeReport {
  kills: number;
  acked: number;
  lostAcked: number;
  /** Default mode: acknowledged writes the kill took back (those after the last snapshot). */
  lostSinceSnapshot: number;
  /** Files beside the snapshot at the end (temporary files a kill left, log segments). */
  leftovers: string[];
  problems: string[];
  restartMs: number[];
}

async function crashRounds(mode: 'sync' | 'default', rand: () => number): Promise<ModeReport> {
  const file = path.join(dir, `${mode}.data`);
  const flags = [
    `--persistence.file=${file}`,
    '--persistence.interval=1s',
    ...(mode === 'sync' ? ['--persistence.sync'] : []),
  ];
  const series = new Map<string, Series>();
  const counter = { n: 0 };
  const load = new Load(series, counter);
  const report: ModeReport = {
    kills: 0,
    acked: 0,
    lostAcked: 0,
    lostSinceSnapshot: 0,
    leftovers: [],
    problems: [],
    restartMs: [],
  };
  for (let round = 0; round <= KILLS; round++) {
    // The snapshot the restart will read (before the new process could write another).
    const writtenAt = snapshotWrittenAt(file);
    const t0 = Date.now();
    const gw = await start(flags);
    if (round > 0) report.restartMs.push(Date.now() - t0);
    const groups = await readGroups(gw.port);
    if (round > 0) {
      // What the restart must show, judged against the writes of every earlier round.
      const all = [...series.values()];
      const verdict =
        mode === 'sync'
          ? judge(all, groups, (s) => ({ lo: s.lastAckedBefore(Infinity), hi: s.writes.length - 1 }))
          : judge(all, groups, (s) =>
              writtenAt === undefined
                ? { lo: -1, hi: -1 }
                : { lo: s.lastAckedBefore(writtenAt), hi: s.lastSentBy(writtenAt + 1) },
            );
      report.lostAcked += verdict.lostAcked;
      report.problems.push(...verdict.problems.map((p) => `after kill ${round}: ${p}`));
      if (mode === 'default')
        report.lostSinceSnapshot += judge(all, groups, (s) => ({
          lo: s.lastAckedBefore(Infinity),
          hi: s.writes.length - 1,
        })).lostAcked;
      // From here on the history of each series continues from what was restored: writes lost
      // in the crash are not part of it any more.
      const now = Date.now();
      for (const s of all) s.writes.push({ value: stateIn(groups, s.key), sentAt: now, ackedAt: now });
    }
    if (round === KILLS) {
      // Last round: load, then a clean SIGTERM: everything acknowledged must come back.
      load.start(gw.port);
      await new Promise((r) => setTimeout(r, 300 + rand() * 500));
      await load.stop();
      await stopClean(gw);
      const again = await start(flags);
      const back = await readGroups(again.port);
      const verdict = judge([...series.values()], back, (s) => ({ lo: s.writes.length - 1, hi: s.writes.length - 1 }));
      report.problems.push(...verdict.problems.map((p) => `after SIGTERM: ${p}`));
      report.lostAcked += verdict.lostAcked;
      await stopClean(again);
      report.leftovers = readdirSync(dir).filter((n) => n.includes(`${mode}.data`) && n !== `${mode}.data`);
      break;
    }
    load.start(gw.port);
    // Random moments; default mode also gets rounds long enough for snapshots to be written.
    const delay = mode === 'sync' ? 150 + rand() * 1200 : 300 + rand() * 2700;
    await new Promise((r) => setTimeout(r, delay));
    load.expectDeath();
    await killHard(gw);
    report.kills++;
    await load.stop();
    assert.equal(load.errors, 0);
  }
  report.acked = load.acked;
  return report;
}

test(`no-loss mode: ${KILLS} random kill -9 under load lose no acknowledged push`, async () => {
  const rand = seeded(SEED);
  const r = await crashRounds('sync', rand);
  console.log(
    `crash (seed ${SEED}) no-loss mode: ${r.kills} kills, ${r.acked} acknowledged writes, ${r.lostAcked} acknowledged writes lost; restarts took ${r.restartMs.join(', ')} ms; files left beside the snapshot: ${r.leftovers.join(', ') || 'none'}`,
  );
  assert.deepEqual(r.problems, []);
  assert.equal(r.lostAcked, 0);
});

test(`default mode: ${KILLS} random kill -9 under load restore the last snapshot, intact`, async () => {
  const rand = seeded(SEED + 1);
  const r = await crashRounds('default', rand);
  console.log(
    `crash (seed ${SEED + 1}) default mode: ${r.kills} kills, ${r.acked} acknowledged writes, ${r.lostSinceSnapshot} of them written after the last snapshot and lost (expected in this mode); restarts took ${r.restartMs.join(', ')} ms; files left beside the snapshot: ${r.leftovers.join(', ') || 'none'}`,
  );
  assert.deepEqual(r.problems, []);
});

// ---------------------------------------------------------------------------------------------
// Damaged files.

/** Runs ours to its exit (it should not get far); resolves with the exit code and stderr. */
async function runToExit(flags: string[]): Promise<{ code: number | null; stderr: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [OURS_MAIN, `--web.listen-address=127.0.0.1:${port}`, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.resume();
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr };
}

/** A snapshot with a few groups, written by a clean stop. */
async function makeSnapshot(name: string): Promise<string> {
  const file = path.join(dir, name);
  const gw = await start([`--persistence.file=${file}`]);
  const agent = new Agent();
  for (let i = 0; i < 5; i++) {
    const r = await send(
      agent,
      gw.port,
      'PUT',
      `/metrics/job/snap/instance/i${i}`,
      `# HELP snap_value a value\nsnap_value{x="${i}"} ${i}\n`,
    );
    assert.equal(r.status, 200);
  }
  agent.destroy();
  await stopClean(gw);
  assert.ok(existsSync(file));
  return file;
}

/** Damage to the lines, compressed again as the gateway writes them. */
const inLines = (change: (text: string) => string) => (b: Buffer) => gzipSync(change(snapshotText(b)));

const damages: Array<[string, (b: Buffer) => Buffer]> = [
  ['truncated in the middle', (b) => b.subarray(0, Math.floor(b.length * 0.6))],
  ['lines truncated in the middle', inLines((t) => t.slice(0, Math.floor(t.length * 0.6)))],
  ['lines truncated at a line end', inLines((t) => t.slice(0, t.indexOf('\n', Math.floor(t.length / 2)) + 1))],
  ['a corrupt byte in the lines', inLines((t) => t.replace('"families"', '"fa{ilies"'))], // not JSON
  ['zero bytes', () => Buffer.alloc(0)],
  ['binary garbage', (b) => Buffer.from(b.map((x, i) => (i % 7 === 3 ? 0xff : x)))],
  [
    'binary garbage after the compression header',
    (b) => Buffer.from(b.map((x, i) => (i % 7 === 3 && i > 10 ? 0xff : x))),
  ],
];

for (const [name, damage] of damages) {
  test(`a damaged snapshot (${name}) stops the start with file, line and byte; start-empty-on-error starts empty`, async () => {
    const file = await makeSnapshot(`damaged-${name.replace(/\W/g, '_')}.data`);
    const damaged = damage(readFileSync(file));
    writeFileSync(file, damaged);
    const r = await runToExit([`--persistence.file=${file}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(file), `the message names the file: ${r.stderr}`);
    assert.match(r.stderr, /line \d+ \(byte \d+( of its decompressed text)?\)/, 'the message names the line and byte');
    // The file is left as it was, for a human to look at.
    assert.ok(readFileSync(file).equals(damaged), 'a refused start leaves the file alone');

    const gw = await start([`--persistence.file=${file}`, '--persistence.start-empty-on-error']);
    assert.deepEqual(await readGroups(gw.port), []);
    assert.match(gw.output(), /damaged/);
    await stopClean(gw);
    // Nothing silently dropped: the damaged file was kept aside.
    assert.ok(
      readdirSync(dir).some((n) => n.startsWith(path.basename(file) + '.damaged.')),
      'the damaged snapshot is kept beside',
    );
  });
}

test('a write-ahead log damaged before its last line stops the start; a torn last line does not', async () => {
  const file = path.join(dir, 'wal.data');
  const gw = await start([`--persistence.file=${file}`, '--persistence.sync', '--persistence.interval=1h']);
  const agent = new Agent();
  for (let i = 0; i < 4; i++)
    assert.equal(
      (await send(agent, gw.port, 'PUT', `/metrics/job/wal/instance/i${i}`, `wal_value ${i}\n`)).status,
      200,
    );
  agent.destroy();
  await killHard(gw);
  const segments = readdirSync(dir).filter((n) => n.startsWith('wal.data.wal.'));
  assert.equal(segments.length, 1, `one log segment: ${segments.join(', ')}`);
  const seg = path.join(dir, segments[0]);
  const original = readFileSync(seg);

  // A torn last line (a crash during an append): that write was never acknowledged.
  writeFileSync(seg, original.subarray(0, original.length - 10));
  const torn = await start([`--persistence.file=${file}`, '--persistence.sync', '--persistence.interval=1h']);
  const groups = await readGroups(torn.port);
  assert.deepEqual(groups.map((g) => g.labels.instance).sort(), ['i0', 'i1', 'i2']);
  await killHard(torn);

  // Damage in the middle: refuse to start, naming the log file, line and byte.
  const lines = original.toString().split('\n');
  lines[1] = lines[1].slice(0, 20) + '\u0000' + lines[1].slice(21);
  writeFileSync(seg, lines.join('\n'));
  const r = await runToExit([`--persistence.file=${file}`, '--persistence.sync']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(seg), `the message names the log segment: ${r.stderr}`);
  assert.match(r.stderr, /line 2 \(byte \d+\)/);
});

test('a write-ahead log with a record of an unknown kind stops the start; nothing is wiped or rewritten', async () => {
  const file = await makeSnapshot('unknown-kind.data');
  const snapshot = readFileSync(file);
  // Beside a snapshot of five groups, a segment it does not contain yet (its header's walSegment).
  const seq = snapshotHeader(file).walSegment;
  const seg = `${file}.wal.${String(seq).padStart(8, '0')}`;
  const log = JSON.stringify({ delete: { job: 'none' } }) + '\n' + JSON.stringify({ truncate: { job: 'snap' } }) + '\n';
  writeFileSync(seg, log);
  const r = await runToExit([`--persistence.file=${file}`, '--persistence.sync']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(seg), `the message names the log segment: ${r.stderr}`);
  assert.match(r.stderr, /line 2 \(byte \d+\): unknown record kind \(fields "truncate"/);
  assert.ok(readFileSync(file).equals(snapshot), 'a refused start leaves the snapshot alone');
  assert.equal(readFileSync(seg, 'utf8'), log, 'and the log');
});

test('after start-empty-on-error on a damaged log, later restarts work and keep new pushes', async () => {
  const file = path.join(dir, 'walempty.data');
  const flags = [`--persistence.file=${file}`, '--persistence.sync', '--persistence.interval=1h'];
  // Segments 1 (fine) and 3 (damaged in the middle), no snapshot: as a crash could leave them.
  const ok = JSON.stringify({ delete: { job: 'none' } }) + '\n';
  writeFileSync(`${file}.wal.00000001`, ok + ok);
  writeFileSync(`${file}.wal.00000003`, ok + '{"broken\n' + ok);
  const gw = await start([...flags, '--persistence.start-empty-on-error']);
  const agent = new Agent();
  assert.equal((await send(agent, gw.port, 'PUT', '/metrics/job/after_damage', 'kept 1\n')).status, 200);
  agent.destroy();
  await stopClean(gw);
  // A clean stop wrote a snapshot; a restart without the flag must work and show the push.
  const again = await start(flags);
  const groups = await readGroups(again.port);
  assert.deepEqual(
    groups.map((g) => g.labels.job),
    ['after_damage'],
  );
  await stopClean(again);
});
