// Load generator. Runs in its own Node process (forked by bench/bench.ts through runLoad), never
// in the process of a server under test. A job is a set of concurrent "streams" of closed-loop
// HTTP requests on keep-alive connections; each stream is bounded both in request count and in
// time, and every request has its own timeout. Traffic goes to 127.0.0.1 only.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export interface StreamSpec {
  /** Label for the result ("push", "scrape"). */
  name: string;
  method: 'GET' | 'PUT' | 'POST';
  port: number;
  /**
   * Request path. A "{n}" in it is replaced by a group number: for request i (counted across the
   * stream's connections, from 0), n = first + (i mod cycle), or first + i when cycle is 0.
   */
  path: string;
  first?: number;
  cycle?: number;
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  /** No new request starts after this many ms. */
  durationMs: number;
  /** No more than this many requests are sent. */
  maxRequests: number;
  /** Each request is aborted after this long (counted as an error). */
  timeoutMs: number;
}

export interface StreamResult {
  name: string;
  requests: number;
  /** Answered with 2xx. */
  ok: number;
  /** Status code → count (0 = no answer: connection error or timeout). */
  statuses: Record<string, number>;
  errors: Record<string, number>;
  /** Up to three non-2xx answers, for the report. */
  samples: string[];
  elapsedMs: number;
  /** Completed requests (any outcome) per second over elapsedMs. */
  rps: number;
  /** 2xx answers per second. */
  okPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  bytes: number;
  contentEncoding: string | null;
}

export interface Job {
  streams: StreamSpec[];
}

export interface JobResult {
  streams: StreamResult[];
  /** CPU time the load generator itself used, ms (user + system). */
  loadCpuMs: number;
}

// ---------------------------------------------------------------------------------------------
// Worker side.

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

interface Answer {
  status: number;
  bytes: number;
  error?: string;
  text?: string;
  encoding?: string;
}

async function runStream(spec: StreamSpec): Promise<StreamResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const bodyBuf = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers: Record<string, string | number> = { ...(spec.headers ?? {}) };
  if (bodyBuf !== undefined) headers['Content-Length'] = bodyBuf.length;
  const max = Math.max(0, Math.floor(spec.maxRequests));
  const latencies = new Float64Array(max);
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  let issued = 0;
  let done = 0;
  let ok = 0;
  let bytes = 0;
  let contentEncoding: string | null = null;
  const first = spec.first ?? 0;
  const cycle = spec.cycle ?? 0;
  const start = performance.now();
  const stopAt = start + spec.durationMs;
  let lastEnd = start;

  const once = (path: string): Promise<Answer> =>
    new Promise((resolve) => {
      let settled = false;
      const finish = (a: Answer) => {
        if (!settled) {
          settled = true;
          resolve(a);
        }
      };
      const req = request(
        { host: '127.0.0.1', port: spec.port, method: spec.method, path, agent, headers },
        (res) => {
          const status = res.statusCode ?? 0;
          const keep = status < 200 || status >= 300;
          let n = 0;
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => {
            n += d.length;
            if (keep && n < 2000) chunks.push(d);
          });
          res.on('end', () =>
            finish({
              status,
              bytes: n,
              text: keep ? Buffer.concat(chunks).toString('utf8').slice(0, 300) : undefined,
              encoding: String(res.headers['content-encoding'] ?? ''),
            }),
          );
          res.on('error', (e) => finish({ status: 0, bytes: n, error: (e as NodeJS.ErrnoException).code ?? e.message }));
        },
      );
      req.setTimeout(spec.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e) => finish({ status: 0, bytes: 0, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      if (bodyBuf !== undefined) req.end(bodyBuf);
      else req.end();
    });

  const worker = async () => {
    for (;;) {
      if (issued >= max || performance.now() >= stopAt) return;
      const i = issued++;
      const n = cycle > 0 ? first + (i % cycle) : first + i;
      const path = spec.path.replace('{n}', String(n));
      const t0 = performance.now();
      const a = await once(path);
      const t1 = performance.now();
      latencies[done++] = t1 - t0;
      lastEnd = t1;
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      bytes += a.bytes;
      if (a.status >= 200 && a.status < 300) {
        ok++;
        if (contentEncoding === null) contentEncoding = a.encoding ?? '';
      } else {
        if (a.error !== undefined) errors[a.error] = (errors[a.error] ?? 0) + 1;
        if (samples.length < 3) samples.push(`${spec.method} ${path} → ${a.status}${a.error ? ` ${a.error}` : ''} ${a.text ?? ''}`.trim());
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.connections) }, worker));
  agent.destroy();
  const elapsedMs = Math.max(1e-3, lastEnd - start);
  const lat = latencies.slice(0, done).sort();
  let sum = 0;
  for (const v of lat) sum += v;
  return {
    name: spec.name,
    requests: done,
    ok,
    statuses,
    errors,
    samples,
    elapsedMs,
    rps: (done * 1000) / elapsedMs,
    okPerSec: (ok * 1000) / elapsedMs,
    latencyMs: {
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      p99: percentile(lat, 99),
      max: lat.length ? lat[lat.length - 1] : NaN,
      mean: lat.length ? sum / lat.length : NaN,
    },
    bytes,
    contentEncoding,
  };
}

async function runJob(job: Job): Promise<JobResult> {
  const cpu0 = process.cpuUsage();
  const streams = await Promise.all(job.streams.map(runStream));
  const cpu = process.cpuUsage(cpu0);
  return { streams, loadCpuMs: (cpu.user + cpu.system) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Parent side.

const SELF = fileURLToPath(import.meta.url);

/**
 * Runs a job in a fresh child process and returns its result. The child is killed (by its PID)
 * if it does not answer within the job's own bounds plus a margin.
 */
export function runLoad(job: Job): Promise<JobResult> {
  for (const s of job.streams) {
    if (!Number.isFinite(s.durationMs) || !Number.isFinite(s.maxRequests) || !Number.isFinite(s.timeoutMs)) {
      throw new Error(`unbounded stream ${s.name}`);
    }
  }
  const limitMs = Math.max(...job.streams.map((s) => s.durationMs + s.timeoutMs)) + 30_000;
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: JobResult | undefined;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, limitMs);
    child.on('message', (m) => {
      result = m as JobResult;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`load generator exited (${code ?? signal}) without a result`));
    });
    child.send(job);
  });
}

if (process.argv[2] === '--worker' && process.send !== undefined) {
  // Die with the parent.
  let sent = false;
  process.on('disconnect', () => process.exit(sent ? 0 : 1));
  process.once('message', (job) => {
    runJob(job as Job).then(
      (r) => {
        sent = true;
        process.send!(r, () => process.disconnect());
      },
      (e: unknown) => {
        process.stderr.write(`load generator failed: ${e instanceof Error ? e.stack : String(e)}\n`);
        process.exit(1);
      },
    );
  });
}
