// Load generator. Runs in its own Node process (forked by bench/bench.ts through runLoad), never
// in the process of a server under test. A job is a set of concurrent "streams" of HTTP requests
// on keep-alive connections: closed-loop (each connection sends its next request when the last is
// answered), open-loop (`ratePerSec`: requests scheduled at a steady rate whatever the answers,
// latency counted from the scheduled time) or periodic (`intervalMs`: one request per tick, like a
// Prometheus scrape loop). Each stream is bounded both in request count and in time, and every
// request has its own timeout. Traffic goes to 127.0.0.1 only.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fleetBody } from './fleetbody.js';
import { nativeFlood, rawSender } from './rawflood.js';

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
  /** n = first + a random number below cycle, instead of in turn. */
  random?: boolean;
  body?: string;
  /** Instead of `body`: each group's own body, built once per group before the stream starts. */
  bodyFor?: 'fleet';
  headers?: Record<string, string>;
  /** Each request carries basic auth for this user with a random password (a wrong-password flood). */
  wrongPasswordsFor?: string;
  /** Sent by rawflood.ts (pre-built requests on bare sockets, no body) instead of Node's HTTP client. */
  raw?: boolean;
  /** Source address of the connections (another 127.x.y.z: a second client machine as the server sees it). */
  localAddress?: string;
  connections: number;
  /** No new request starts after this many ms. */
  durationMs: number;
  /** No more than this many requests are sent. */
  maxRequests: number;
  /**
   * Each request is aborted this long after it was sent (open-loop: after it was scheduled;
   * counted as error TIMEOUT, or NOT_SENT when it never got a connection).
   */
  timeoutMs: number;
  /**
   * Open loop: requests are scheduled every 1000/ratePerSec ms during durationMs and sent on at
   * most `connections` connections; latency runs from the scheduled time, so a stalled server
   * shows as latency instead of as fewer requests.
   */
  ratePerSec?: number;
  /** Periodic: one request at a time, started on ticks this far apart; ticks that find the last one still running are skipped. */
  intervalMs?: number;
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
  /** Requests abandoned after timeoutMs (TIMEOUT or NOT_SENT). */
  timeouts: number;
  /** Open loop: requests scheduled; periodic: ticks skipped because the last request was still running. */
  scheduled: number;
  skippedTicks: number;
  /**
   * The load process's own event-loop delay while it ran (its streams share it), ms: latency the
   * client added by being late itself (its CPU taken by others), not the server's.
   */
  clientDelayMs: { p99: number; max: number };
  /** CPU the stream's sender used in a process of its own (rawflood.c), ms: part of the load's. */
  senderCpuMs?: number;
}

export interface Job {
  streams: StreamSpec[];
  /** Run the streams one after the other instead of at the same time. */
  sequential?: boolean;
  /** Run each stream in a load process of its own, so that a flood cannot slow the client measured beside it. */
  apart?: boolean;
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

/** Builds what a stream sends (bodies, a raw sender's requests) before its clock starts; the result runs it. */
function prepareStream(spec: StreamSpec): () => Promise<StreamResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const bodyBuf = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const max = Math.max(0, Math.floor(spec.maxRequests));
  const first = spec.first ?? 0;
  const cycle = spec.cycle ?? 0;
  const bodies = new Map<number, Buffer[]>();
  if (spec.bodyFor === 'fleet') {
    // Each host pushes generations 1 and 2 in turn: every push changes what the host had (loaded: 0).
    const count = cycle > 0 ? cycle : max;
    for (let i = 0; i < count; i++)
      bodies.set(first + i, [Buffer.from(fleetBody(first + i, 1)), Buffer.from(fleetBody(first + i, 2))]);
  }
  if (spec.raw === true && spec.ratePerSec !== undefined) {
    const native = nativeFlood(spec, { ...spec, ratePerSec: spec.ratePerSec });
    if (native !== undefined)
      return async () => {
        const r = await native();
        return {
          ...summarize(spec, Float64Array.from(r.latencies).sort(), spec.durationMs),
          ok: r.ok,
          statuses: r.statuses,
          errors: r.errors,
          samples: r.samples,
          okPerSec: (r.ok * 1000) / spec.durationMs,
          bytes: r.bytes,
          timeouts: (r.errors.TIMEOUT ?? 0) + (r.errors.NOT_SENT ?? 0),
          scheduled: r.scheduled,
          senderCpuMs: r.cpuMs,
        };
      };
  }
  const raw = spec.raw === true ? rawSender(spec) : undefined;
  return () => runPrepared(spec, agent, bodies, bodyBuf, raw);
}

async function runPrepared(
  spec: StreamSpec,
  agent: Agent,
  bodies: Map<number, Buffer[]>,
  bodyBuf: Buffer | undefined,
  raw: ReturnType<typeof rawSender> | undefined,
): Promise<StreamResult> {
  const baseHeaders: Record<string, string | number> = { ...(spec.headers ?? {}) };
  const max = Math.max(0, Math.floor(spec.maxRequests));
  const latencies = new Float64Array(max);
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  let issued = 0;
  let done = 0;
  let ok = 0;
  let bytes = 0;
  let timeouts = 0;
  let skippedTicks = 0;
  let contentEncoding: string | null = null;
  const first = spec.first ?? 0;
  const cycle = spec.cycle ?? 0;
  const start = performance.now();
  const stopAt = start + spec.durationMs;
  let lastEnd = start;

  const once = (path: string, body: Buffer | undefined, timeoutMs: number): Promise<Answer> =>
    raw !== undefined ? raw(timeoutMs) : viaHttp(path, body, timeoutMs);
  const viaHttp = (path: string, body: Buffer | undefined, timeoutMs: number): Promise<Answer> =>
    new Promise((resolve) => {
      let settled = false;
      const finish = (a: Answer) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(a);
        }
      };
      const headers: Record<string, string | number> = { ...baseHeaders };
      if (body !== undefined) headers['Content-Length'] = body.length;
      if (spec.wrongPasswordsFor !== undefined)
        headers.Authorization =
          'Basic ' + Buffer.from(`${spec.wrongPasswordsFor}:${Math.random().toString(36).slice(2)}`).toString('base64');
      const { localAddress } = spec;
      const options = { host: '127.0.0.1', port: spec.port, method: spec.method, path, agent, headers, localAddress };
      const req = request(options, (res) => {
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
      });
      // A deadline for the whole exchange (as a Prometheus scrape timeout), not an idle timeout.
      const timer = setTimeout(
        () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
        Math.max(1, timeoutMs),
      );
      req.on('error', (e) => finish({ status: 0, bytes: 0, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      if (body !== undefined) req.end(body);
      else req.end();
    });

  const pick = (i: number): number => {
    if (cycle <= 0) return first + i;
    return spec.random ? first + Math.floor(Math.random() * cycle) : first + (i % cycle);
  };
  const record = (path: string, a: Answer, latency: number, end: number) => {
    latencies[done++] = latency;
    lastEnd = Math.max(lastEnd, end);
    statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    bytes += a.bytes;
    if (a.status >= 200 && a.status < 300) {
      ok++;
      if (contentEncoding === null) contentEncoding = a.encoding ?? '';
    } else {
      if (a.error !== undefined) errors[a.error] = (errors[a.error] ?? 0) + 1;
      if (a.error === 'TIMEOUT' || a.error === 'NOT_SENT') timeouts++;
      if (samples.length < 3)
        samples.push(`${spec.method} ${path} → ${a.status}${a.error ? ` ${a.error}` : ''} ${a.text ?? ''}`.trim());
    }
  };
  const pushes: number[] = [];
  const send = async (i: number, scheduled?: number) => {
    const n = pick(i);
    const path = spec.path.replace('{n}', String(n));
    const turns = bodies.get(n);
    const body = turns === undefined ? bodyBuf : turns[(pushes[n] = (pushes[n] ?? -1) + 1) % turns.length];
    const t0 = performance.now();
    const from = scheduled ?? t0;
    if (scheduled !== undefined && t0 >= scheduled + spec.timeoutMs) {
      record(path, { status: 0, bytes: 0, error: 'NOT_SENT' }, t0 - scheduled, t0);
      return;
    }
    const a = await once(path, body, from + spec.timeoutMs - t0);
    const t1 = performance.now();
    record(path, a, t1 - from, t1);
  };

  const closedWorker = async () => {
    while (issued < max && performance.now() < stopAt) await send(issued++);
  };

  const periodic = async (interval: number) => {
    for (let tick = 0; issued < max;) {
      const at = start + tick * interval;
      if (at >= stopAt) return;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await send(issued++);
      const next = Math.ceil((performance.now() - start) / interval);
      skippedTicks += Math.max(0, next - tick - 1);
      tick = Math.max(tick + 1, next);
    }
  };

  const openLoop = async (rate: number) => {
    const gap = 1000 / rate;
    const queue: number[] = [];
    let head = 0;
    let ended = false;
    const waiters: Array<() => void> = [];
    const schedule = () => {
      const now = performance.now();
      let queued = 0;
      while (issued < max) {
        const at = start + issued * gap;
        if (at > now || at >= stopAt) break;
        queue.push(at);
        issued++;
        queued++;
      }
      if (now >= stopAt || issued >= max) ended = true;
      const wake = waiters.splice(0, ended ? waiters.length : queued);
      for (const w of wake) w();
      if (!ended) setTimeout(schedule, Math.max(0, Math.min(gap, start + issued * gap - now)));
    };
    const worker = async () => {
      for (;;) {
        if (head < queue.length) {
          const k = head++;
          await send(k, queue[k]);
        } else if (ended) return;
        else await new Promise<void>((r) => waiters.push(r));
      }
    };
    schedule();
    await Promise.all(Array.from({ length: Math.max(1, spec.connections) }, worker));
  };

  if (spec.ratePerSec !== undefined) await openLoop(spec.ratePerSec);
  else if (spec.intervalMs !== undefined) await periodic(spec.intervalMs);
  else await Promise.all(Array.from({ length: Math.max(1, spec.connections) }, closedWorker));
  agent.destroy();
  const elapsedMs = spec.ratePerSec !== undefined ? spec.durationMs : Math.max(1e-3, lastEnd - start);
  return {
    ...summarize(spec, latencies.slice(0, done).sort(), elapsedMs),
    ok,
    statuses,
    errors,
    samples,
    okPerSec: (ok * 1000) / elapsedMs,
    bytes,
    contentEncoding,
    timeouts,
    scheduled: spec.ratePerSec !== undefined ? issued : done,
    skippedTicks,
  };
}

/** A stream's result from its latencies (sorted), the counts left at nothing. */
function summarize(spec: StreamSpec, lat: Float64Array, elapsedMs: number): StreamResult {
  let sum = 0;
  for (const v of lat) sum += v;
  return {
    name: spec.name,
    requests: lat.length,
    ok: 0,
    statuses: {},
    errors: {},
    samples: [],
    elapsedMs,
    rps: (lat.length * 1000) / elapsedMs,
    okPerSec: 0,
    latencyMs: {
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      p99: percentile(lat, 99),
      max: lat.length ? lat[lat.length - 1] : NaN,
      mean: lat.length ? sum / lat.length : NaN,
    },
    bytes: 0,
    contentEncoding: null,
    timeouts: 0,
    scheduled: lat.length,
    skippedTicks: 0,
    clientDelayMs: { p99: NaN, max: NaN }, // filled in by runJob, which watches the whole process
  };
}

/** Prepares the job's streams, waits for `go` (the other load processes of the job are ready), runs them. */
async function runJob(job: Job, go: () => Promise<void>): Promise<JobResult> {
  const streams: StreamResult[] = [];
  const prepared = job.sequential ? [] : job.streams.map(prepareStream);
  await go();
  const cpu0 = process.cpuUsage();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  if (job.sequential) for (const s of job.streams) streams.push(await prepareStream(s)());
  else streams.push(...(await Promise.all(prepared.map((run) => run()))));
  delay.disable();
  const cpu = process.cpuUsage(cpu0);
  const clientDelayMs = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
  const senders = streams.reduce((sum, r) => sum + (r.senderCpuMs ?? 0), 0);
  return {
    streams: streams.map((r) => ({ ...r, clientDelayMs })),
    loadCpuMs: (cpu.user + cpu.system) / 1000 + senders,
  };
}

// ---------------------------------------------------------------------------------------------
// Parent side.

const SELF = fileURLToPath(import.meta.url);
/** Time a load process may take to start and build its requests, beyond its streams' bounds. */
const PREPARE_MS = 30_000;

/**
 * Runs a job in a fresh child process and returns its result. The child is killed (by its PID)
 * if it does not answer within the job's own bounds plus a margin.
 */
export function runLoad(job: Job): Promise<JobResult> {
  if (job.apart === true && !job.sequential && job.streams.length > 1) {
    // Each process builds its requests first; all start their clocks together, so that a flood
    // slower to start than the client beside it does not leave part of its window quiet.
    let waiting = job.streams.length;
    let start!: () => void;
    const started = new Promise<void>((r) => (start = r));
    const ready = () => {
      if (--waiting === 0) start();
      return started;
    };
    return Promise.all(job.streams.map((s) => load({ streams: [s] }, ready))).then((rs) => ({
      streams: rs.flatMap((r) => r.streams),
      loadCpuMs: rs.reduce((sum, r) => sum + r.loadCpuMs, 0),
    }));
  }
  return load(job, () => Promise.resolve());
}

/** Runs `job` in a child process, which starts once `ready` (called when it is prepared) resolves. */
function load(job: Job, ready: () => Promise<void>): Promise<JobResult> {
  for (const s of job.streams) {
    if (!Number.isFinite(s.durationMs) || !Number.isFinite(s.maxRequests) || !Number.isFinite(s.timeoutMs)) {
      throw new Error(`unbounded stream ${s.name}`);
    }
  }
  const each = job.streams.map((s) => s.durationMs + s.timeoutMs);
  const limitMs = (job.sequential ? each.reduce((a, b) => a + b, 0) : Math.max(...each)) + 30_000;
  return new Promise((resolve, reject) => {
    // A flood's process leads a session of its own: with the kernel's autogroups (on by default
    // on most Linux systems) it is then a scheduling group of its own, its CPU taken as another
    // user's would be, not from the group of the gateway and the client measured beside it
    // (an attacker does not run on the gateway's machine). Ended with its parent (disconnect).
    const detached = job.streams.some((s) => s.raw === true);
    const child = fork(SELF, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached });
    let result: JobResult | undefined;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, limitMs + PREPARE_MS);
    child.on('message', (m) => {
      if (m === 'ready') void ready().then(() => child.connected && child.send('go'));
      else result = m as JobResult;
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
    const go = () =>
      new Promise<void>((resolve) => {
        process.once('message', () => resolve());
        process.send!('ready');
      });
    runJob(job as Job, go).then(
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
