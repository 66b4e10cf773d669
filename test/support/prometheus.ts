// Starts a real Prometheus server (Debian's /usr/bin/prometheus by default) for end-to-end tests,
// with a temporary config file and a temporary TSDB directory, on a free loopback port.
// It is stopped by the PID we started (SIGTERM, then SIGKILL after a timeout); never by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './servers.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/**
 * Throws (so the calling test FAILS, never skips) when a binary the test needs is missing,
 * naming the Debian package that provides it.
 */
export function requireBinary(bin: string, debianPackage: string): void {
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: install the Debian package '${debianPackage}' ` +
        `(apt-get install ${debianPackage}); this end-to-end test must not be skipped`,
    );
  }
}

export interface ScrapeJob {
  jobName: string;
  targets: string[]; // host:port
  honorLabels?: boolean;
  metricsPath?: string;
}

export interface RunningPrometheus {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function yamlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
}

export function prometheusConfig(jobs: ScrapeJob[], scrapeInterval = '1s'): string {
  const lines = [
    'global:',
    `  scrape_interval: ${scrapeInterval}`,
    `  scrape_timeout: ${scrapeInterval}`,
    `  evaluation_interval: ${scrapeInterval}`,
    'scrape_configs:',
  ];
  for (const job of jobs) {
    lines.push(`  - job_name: ${yamlString(job.jobName)}`);
    lines.push(`    honor_labels: ${job.honorLabels ? 'true' : 'false'}`);
    if (job.metricsPath !== undefined) lines.push(`    metrics_path: ${yamlString(job.metricsPath)}`);
    lines.push('    static_configs:');
    lines.push(`      - targets: [${job.targets.map(yamlString).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopProc(proc: ChildProcess, killAfterMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }, killAfterMs);
  await exited;
  clearTimeout(timer);
}

async function startOnce(
  dir: string,
  configFile: string,
  timeoutMs: number,
  extraArgs: string[],
): Promise<RunningPrometheus> {
  const port = await freePort();
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    ...extraArgs,
  ];
  const proc = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const output = () => out;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`prometheus exited (${proc.exitCode ?? proc.signalCode}) before becoming ready:\n${out}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProc(proc, 5000);
      throw new Error(`prometheus at ${url} not ready after ${timeoutMs} ms:\n${out}`);
    }
    await sleep(100);
  }
  return { url, port, dir, proc, output, stop: async () => stopProc(proc, 10000) };
}

/**
 * Starts Prometheus scraping the given jobs. The returned stop() terminates the process
 * (SIGTERM, SIGKILL after 10 s) and removes the temporary directory.
 */
export async function startPrometheus(
  jobs: ScrapeJob[],
  opts: { scrapeInterval?: string; timeoutMs?: number; extraArgs?: string[] } = {},
): Promise<RunningPrometheus> {
  requireBinary(PROMETHEUS_BIN, 'prometheus');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgw-e2e-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(jobs, opts.scrapeInterval ?? '1s'));
  let lastErr: unknown;
  // The free port can be taken between choosing and binding it; retry a couple of times.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const p = await startOnce(dir, configFile, opts.timeoutMs ?? 30000, opts.extraArgs ?? []);
      return {
        ...p,
        stop: async () => {
          try {
            await p.stop();
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      };
    } catch (e) {
      lastErr = e;
      if (!String(e).includes('address already in use')) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastErr;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query via the HTTP API and returns the vector result. */
export async function instantQuery(promUrl: string, query: string, timeoutMs = 2000): Promise<PromSample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`query ${query}: HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text) as { status: string; data?: { resultType: string; result: PromSample[] } };
  if (body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new Error(`query ${query}: unexpected response ${text}`);
  }
  return body.data.result;
}

export interface TargetInfo {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  health: string;
}

export async function activeTargets(promUrl: string, timeoutMs = 2000): Promise<TargetInfo[]> {
  const res = await fetch(`${promUrl}/api/v1/targets`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { data?: { activeTargets?: TargetInfo[] } };
  return body.data?.activeTargets ?? [];
}

/**
 * Calls `probe` every `intervalMs` until it returns a non-undefined value or `timeoutMs` elapses.
 * On timeout throws with `describe()` (called at that point) in the message.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs: number; describe: () => Promise<string> | string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = String(e);
    }
    if (Date.now() + opts.intervalMs > deadline) {
      const d = await opts.describe();
      throw new Error(`gave up after ${opts.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}: ${d}`);
    }
    await sleep(opts.intervalMs);
  }
}
