// Starting, loading, inspecting and stopping the two gateways for the benchmark. Every server
// started here is tracked, and stopAll() (called from bench.ts in `finally` and on signals)
// stops each of them by the PID we started.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../test/support/servers.js';
import { runLoad, type StreamResult } from './load.js';

export type Kind = 'ours' | 'reference';
export const KINDS: readonly Kind[] = ['ours', 'reference'];

const running = new Set<RunningServer>();

export async function start(kind: Kind, flags: string[] = [], timeoutMs = 30_000): Promise<RunningServer> {
  const s = await startServer(kind, flags, { timeoutMs });
  running.add(s);
  return s;
}

/** Stops a server (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
export async function stop(s: RunningServer, graceMs = 5_000): Promise<void> {
  running.delete(s);
  const p = s.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  if (p.pid !== undefined) {
    process.kill(p.pid, 'SIGCONT'); // in case it was frozen: a stopped process holds SIGTERM
    process.kill(p.pid, 'SIGTERM');
  }
  const timer = setTimeout(() => {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((s) => stop(s)));
  await Promise.allSettled([...others].map((p) => stopProcess(p)));
}

/** Other processes the bench starts (Prometheus, the bare node:http server): stopped like the gateways. */
const others = new Set<ChildProcess>();

export function track(p: ChildProcess): void {
  others.add(p);
  p.once('exit', () => others.delete(p));
}

export async function stopProcess(p: ChildProcess, graceMs = 10_000): Promise<void> {
  others.delete(p);
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, 'SIGCONT'); // a frozen process would hold SIGTERM until continued
  process.kill(p.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Freezes (SIGSTOP) or thaws (SIGCONT) a server we started, so that it takes no CPU while another is measured. */
export function freeze(s: RunningServer, frozen: boolean): void {
  if (alive(s) && s.proc.pid !== undefined) process.kill(s.proc.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}

const tempDirs = new Set<string>();

/** A temporary directory that removeTempDir() or killAllNow() deletes. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Synchronous last resort (process 'exit' handler, signals): SIGKILL every tracked PID, delete temp dirs. */
export function killAllNow(): void {
  for (const p of [...[...running].map((s) => s.proc), ...others]) {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  running.clear();
  others.clear();
  for (const dir of [...tempDirs]) {
    try {
      removeTempDir(dir);
    } catch {
      // best effort
    }
  }
}

/** VmRSS of the server process, in MiB. */
export function rssMiB(s: Pick<RunningServer, 'proc'>): number {
  const status = readFileSync(`/proc/${s.proc.pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for PID ${s.proc.pid}`);
  return Number(m[1]) / 1024;
}

/** CPU time (user + system) the server process has used so far, in ms. */
export function cpuMs(s: Pick<RunningServer, 'proc'>): number {
  const stat = readFileSync(`/proc/${s.proc.pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time all processes on the machine have used so far (busy, not idle or iowait), in ms. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + (steal || 0)) * 1000) / 100;
}

/**
 * Waits until processes on the machine use less than `cores` CPU cores over `samples` consecutive
 * `sampleMs` periods, or until `maxMs` has passed. Returns whether it got quiet.
 */
export async function waitQuiet(opts: {
  cores: number;
  maxMs: number;
  sampleMs?: number;
  samples?: number;
  onBusy?: (cores: number) => void;
}): Promise<boolean> {
  const sampleMs = opts.sampleMs ?? 2000;
  const need = opts.samples ?? 1;
  const deadline = Date.now() + opts.maxMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const b0 = machineBusyMs();
    await sleep(sampleMs);
    const cores = (machineBusyMs() - b0) / sampleMs;
    if (cores < opts.cores) {
      if (++quiet >= need) return true;
    } else {
      quiet = 0;
      opts.onBusy?.(cores);
    }
  }
  return false;
}

/**
 * Waits until the server has finished the work a window left behind (e.g. pushes whose clients
 * timed out are still processed), so that it does not eat into the next window of the other
 * gateway: until it uses less than `cores` over a `sampleMs` sample, at most `maxMs`. Returns the ms waited.
 */
export async function waitIdle(
  s: Pick<RunningServer, 'proc'>,
  opts: { cores?: number; sampleMs?: number; maxMs?: number } = {},
): Promise<number> {
  const cores = opts.cores ?? 0.15;
  const sampleMs = opts.sampleMs ?? 250;
  const t0 = Date.now();
  const deadline = t0 + (opts.maxMs ?? 90_000);
  while (alive(s) && Date.now() < deadline) {
    const c0 = cpuMs(s);
    await sleep(sampleMs);
    if (!alive(s) || (cpuMs(s) - c0) / sampleMs < cores) break;
  }
  return Date.now() - t0;
}

/** 1-minute load average. */
export function loadAvg1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export function alive(s: Pick<RunningServer, 'proc'>): boolean {
  return s.proc.exitCode === null && s.proc.signalCode === null;
}

/** The text body of a 20-series (or n-series) gauge family, the same for every group. */
export function pushBody(series: number, shift = 0): string {
  const lines = ['# HELP bench_gauge A benchmark gauge.', '# TYPE bench_gauge gauge'];
  for (let i = 0; i < series; i++) lines.push(`bench_gauge{series="s${i}"} ${i + 0.5 + shift}`);
  return lines.join('\n') + '\n';
}

export const GROUP_PATH = '/metrics/job/bench/instance/{n}';

/** Number of groups the server exposes, counted from a /metrics scrape (push_time_seconds series). */
export async function countGroups(s: RunningServer, timeoutMs = 120_000): Promise<number> {
  const res = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics → ${res.status}`);
  let n = 0;
  let i = -1;
  while ((i = text.indexOf('\npush_time_seconds{', i + 1)) >= 0) n++;
  return n;
}

/** Empties the store through the admin API (needs --web.enable-admin-api) and waits until it is empty. */
export async function wipe(s: RunningServer, timeoutMs = 30_000): Promise<void> {
  const res = await fetch(`${s.url}/api/v1/admin/wipe`, { method: 'PUT', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  if (res.status !== 202 && res.status !== 200) throw new Error(`wipe → ${res.status}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await fetch(`${s.url}/api/v1/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await r.json()) as { data?: unknown[] };
    if (Array.isArray(body.data) && body.data.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`store not empty ${timeoutMs} ms after wipe`);
}

export interface PreloadResult {
  target: number;
  loaded: number;
  non2xx: number;
  seconds: number;
  /** Time at which each tenth of the target was reached (s since start). */
  checkpoints: Array<{ groups: number; seconds: number }>;
  capped: boolean;
  samples: string[];
}

/**
 * Pushes `groups` distinct groups of `series` series (instance numbers first..first+groups-1)
 * with `connections` concurrent connections, in ten steps, stopping early when `budgetMs` is spent.
 */
export async function preload(
  s: RunningServer,
  opts: {
    groups: number;
    series: number;
    connections: number;
    budgetMs: number;
    first?: number;
    path?: string;
    bodyFor?: 'fleet';
  },
): Promise<PreloadResult> {
  const body = opts.bodyFor === undefined ? pushBody(opts.series) : undefined;
  const first = opts.first ?? 0;
  const step = Math.max(1, Math.ceil(opts.groups / 10));
  const t0 = Date.now();
  let loaded = 0;
  let sent = 0;
  let non2xx = 0;
  const samples: string[] = [];
  const checkpoints: PreloadResult['checkpoints'] = [];
  while (sent < opts.groups) {
    const left = opts.budgetMs - (Date.now() - t0);
    if (left <= 0) break;
    const n = Math.min(step, opts.groups - sent);
    const r = await runLoad({
      streams: [
        {
          name: 'preload',
          method: 'PUT',
          port: s.port,
          path: opts.path ?? GROUP_PATH,
          first: first + sent,
          body,
          bodyFor: opts.bodyFor,
          connections: opts.connections,
          durationMs: left,
          maxRequests: n,
          timeoutMs: 120_000,
        },
      ],
    });
    const st: StreamResult = r.streams[0];
    sent += st.requests;
    loaded += st.ok;
    non2xx += st.requests - st.ok;
    samples.push(...st.samples.slice(0, Math.max(0, 3 - samples.length)));
    checkpoints.push({ groups: sent, seconds: (Date.now() - t0) / 1000 });
    if (st.requests < n) break; // budget spent
  }
  return {
    target: opts.groups,
    loaded,
    non2xx,
    seconds: (Date.now() - t0) / 1000,
    checkpoints,
    capped: sent < opts.groups,
    samples,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
