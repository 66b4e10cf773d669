// How the client tests drive the real client libraries (clients.test.ts, and the replicas' client
// matrix in test/replica/matrix.test.ts): client_golang built from test/clients/go/main.go,
// Python's prometheus_client through test/clients/python/push.py, prom-client in process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import client, { type Registry as PromRegistry, type RegistryContentType } from 'prom-client';
import { requireBinary } from '../support/prometheus.js';

const { Registry, Counter, Gauge, Histogram, Summary, Pushgateway } = client;

/** test/clients in the source tree (this file runs from dist/test/clients). */
export const SRC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/clients');
export const GO_MAIN = path.join(SRC_DIR, 'go', 'main.go');
export const PY_SCRIPT = path.join(SRC_DIR, 'python', 'push.py');

export const GO_BIN = process.env.GO_BIN ?? '/usr/bin/go';
export const GO_PATH = process.env.CLIENT_GOLANG_GOPATH ?? '/usr/share/gocode';
export const GO_PUSH_SRC = path.join(GO_PATH, 'src/github.com/prometheus/client_golang/prometheus/push/push.go');
export const PYTHON_BIN = process.env.PYTHON3_BIN ?? '/usr/bin/python3';

export const GO_BUILD_TIMEOUT_MS = 240_000;
export const CLIENT_TIMEOUT_MS = 20_000;
export const HTTP_TIMEOUT_MS = 5_000;

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
        if (err && err.killed)
          return reject(new Error(`${file} ${args.join(' ')} timed out after ${opts.timeoutMs} ms:\n${stderr}`));
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Builds test/clients/go/main.go into a new temporary directory, added to `tempDirs` (removed by the caller). */
export async function buildGoClient(tempDirs: string[]): Promise<string> {
  requireBinary(GO_BIN, 'golang-go');
  if (!existsSync(GO_PUSH_SRC)) {
    throw new Error(
      `${GO_PUSH_SRC} is missing: install the Debian package 'golang-github-prometheus-client-golang-dev' ` +
        `(apt-get install golang-github-prometheus-client-golang-dev); this test must not be skipped`,
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgw-client-golang-'));
  tempDirs.push(dir);
  const bin = path.join(dir, 'pushclient');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: GO_PATH,
    GOFLAGS: '',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
  // Go's default build cache (~/.cache/go-build) makes later runs fast; without a HOME, a
  // temporary cache for this run.
  if (env.GOCACHE === undefined && env.HOME === undefined && env.XDG_CACHE_HOME === undefined) {
    env.GOCACHE = path.join(dir, 'gocache');
  }
  const r = await run(GO_BIN, ['build', '-o', bin, GO_MAIN], { timeoutMs: GO_BUILD_TIMEOUT_MS, env, cwd: dir });
  assert.equal(r.code, 0, `go build of ${GO_MAIN} failed (GO111MODULE=off GOPATH=${GO_PATH}):\n${r.stderr}${r.stdout}`);
  return bin;
}

export async function requirePythonClient(): Promise<void> {
  requireBinary(PYTHON_BIN, 'python3-prometheus-client');
  const r = await run(PYTHON_BIN, ['-c', 'import prometheus_client'], { timeoutMs: CLIENT_TIMEOUT_MS });
  if (r.code !== 0) {
    throw new Error(
      `${PYTHON_BIN} cannot import prometheus_client: install the Debian package 'python3-prometheus-client' ` +
        `(apt-get install python3-prometheus-client); this test must not be skipped\n${r.stderr}`,
    );
  }
}

export type AnyRegistry = PromRegistry<RegistryContentType>;

export function plainRegistry(variant: 1 | 2 | 3): AnyRegistry {
  const r = new Registry();
  if (variant === 1) {
    const requests = new Counter({
      name: 'node_requests_total',
      help: 'Requests handled, by code.',
      labelNames: ['code'],
      registers: [r],
    });
    requests.inc({ code: '200' }, 41);
    requests.inc({ code: '500' });
    new Gauge({ name: 'node_temperature_celsius', help: 'A gauge.', registers: [r] }).set(-21.5);
    const h = new Histogram({
      name: 'node_latency_seconds',
      help: 'A histogram.',
      buckets: [0.1, 0.5, 1],
      registers: [r],
    });
    const s = new Summary({
      name: 'node_job_duration_seconds',
      help: 'A summary.',
      percentiles: [0.5, 0.9],
      registers: [r],
    });
    for (const v of [0, 0.05, 0.3, 0.3, 0.7, 2, 12.5]) {
      h.observe(v);
      s.observe(v);
    }
  } else if (variant === 2) {
    new Gauge({ name: 'node_temperature_celsius', help: 'A gauge.', registers: [r] }).set(42);
    new Counter({ name: 'node_added_total', help: 'Only pushed by pushAdd.', registers: [r] }).inc(3);
  } else {
    new Gauge({ name: 'node_last_success_timestamp_seconds', help: 'The only family left.', registers: [r] }).set(
      1.5e9,
    );
  }
  return r;
}

export type PushOp = 'push' | 'pushAdd' | 'delete';

export async function promClientRun(
  url: string,
  registry: AnyRegistry,
  op: PushOp,
  jobName: string,
  groupings: Record<string, string>,
  headers?: Record<string, string>,
): Promise<{ ok: true; status: number } | { ok: false; error: string }> {
  const gw = new Pushgateway(url, { timeout: HTTP_TIMEOUT_MS, ...(headers ? { headers } : {}) }, registry);
  try {
    const { resp } = await gw[op]({ jobName, groupings });
    return { ok: true, status: (resp as { statusCode: number }).statusCode };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
