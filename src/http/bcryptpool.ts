// bcrypt checks on worker threads, with bounds, so that a flood of wrong passwords can neither
// hold the event loop (every other request waits behind a check running there) nor queue work
// without end. Beyond the bounds a check is refused before any bcrypt runs:
// - one source (remote address) with `maxPerSource` checks queued or running: 429, so repeated
//   attempts from one address wait on themselves and not on the gateway's other users;
// - `maxPending` checks queued or running in all: 503, the gateway is busy.
// - one source whose checks keep failing: 429 until its block ends. A source may fail
//   `freeFailures` checks (typos; a check refused for the per-source bound counts as failed);
//   each failure after them blocks its next checks, for a second
//   and then twice as long each time (up to a minute). A password guesser from one address then
//   costs one bcrypt check a minute instead of a core, and its refusals cost the gateway an
//   answer each, held up to 5 s so that it sends fewer. A check that matches clears its source.
// The answers carry Retry-After and are sent after a second (or the block's end, up to 5 s), so
// that retrying at once gains nothing and costs the gateway little. Credentials already verified
// never come here (the Authenticator's cache answers them at once), so they are served whatever
// the pool's state, from a blocked address too.
//
// Workers start on the first check, stop after `idleMs` without one (a setup whose clients all
// have verified credentials holds no thread), keep the process alive only while a check runs
// (idle ones are unref'd), and a worker that dies is replaced: the check it was running fails
// with a 503 that says so.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { BcryptAnswer, BcryptRequest } from './bcryptworker.js';
import { HttpError } from './errors.js';

/** The worker script, beside this module both in the repository's dist/ and in an installed package. */
export const BCRYPT_WORKER = new URL('./bcryptworker.js', import.meta.url);

/** A refusal that tells the client when to come back, and how long to hold it before sending it. */
export class RetryLaterError extends HttpError {
  constructor(
    status: 429 | 503,
    message: string,
    readonly retryAfterS: number,
    readonly holdMs = 0,
  ) {
    super(status, message);
  }
}

export interface BcryptPoolOptions {
  /** Worker threads: by default one core fewer than the machine has (the event loop keeps one), 1 to 2. */
  size?: number;
  /** Checks queued or running in all before new ones are refused with 503 (default 8 per worker). */
  maxPending?: number;
  /** Checks queued or running for one source before its new ones are refused with 429 (default 2 per worker). */
  maxPerSource?: number;
  /**
   * A refusal is answered this long after the request (default 1 s): a client that retries at once
   * would otherwise turn refusals, each cheap, into a request flood that holds the event loop.
   */
  refusalDelayMs?: number;
  /** A worker without a check for this long stops (default 30 s). */
  idleMs?: number;
  /** Failed checks a source may make before failures block it (default 5; Infinity: never blocked). */
  freeFailures?: number;
  /** The first block; each failure after it doubles the next (default 1 s). */
  blockMs?: number;
  /** The longest block (default 60 s). */
  maxBlockMs?: number;
  /** The longest a blocked source's refusal is held (default 5 s). */
  maxHoldMs?: number;
  /** The worker script (tests run others). */
  script?: URL;
  log?: Logger;
}

interface Job {
  request: BcryptRequest;
  source: string;
  /** Whether a match clears the source (not for the stand-in hash unknown users are checked against). */
  clears: boolean;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

/** A source's failed checks: how many, the last one's time, and until when its checks are refused. */
interface Strikes {
  failures: number;
  last: number;
  until: number;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
  idle: NodeJS.Timeout | undefined;
}

/** How often a refusal or a crash is logged at most: a flood must not become a flood of log lines. */
const LOG_EVERY_MS = 10_000;
/** A source without a failed check for this many longest blocks starts afresh. */
const FORGET_BLOCKS = 10;
/** Sources whose failures are remembered at most (the oldest forgotten first): ~100 bytes each. */
const MAX_SOURCES = 10_000;

export class BcryptPool {
  readonly size: number;
  readonly maxPending: number;
  readonly maxPerSource: number;
  private readonly idleMs: number;
  private readonly refusalDelayMs: number;
  private readonly freeFailures: number;
  private readonly blockMs: number;
  private readonly maxBlockMs: number;
  private readonly maxHoldMs: number;
  /** Sources with failed checks, the latest to fail last. */
  private readonly strikes = new Map<string, Strikes>();
  private readonly script: URL;
  private readonly log: Logger | undefined;
  private readonly slots: Slot[];
  /** Bounded by maxPending, so shift() stays cheap. */
  private readonly queue: Job[] = [];
  private readonly perSource = new Map<string, number>();
  private pendingCount = 0;
  private refusedSinceLog = 0;
  private lastRefusalLog = -Infinity;
  private closed = false;

  constructor(options: BcryptPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.min(2, availableParallelism() - 1));
    this.maxPending = Math.max(1, options.maxPending ?? 8 * this.size);
    this.maxPerSource = Math.max(1, options.maxPerSource ?? 2 * this.size);
    this.idleMs = options.idleMs ?? 30_000;
    this.refusalDelayMs = options.refusalDelayMs ?? 1000;
    this.freeFailures = options.freeFailures ?? 5;
    this.blockMs = options.blockMs ?? 1000;
    this.maxBlockMs = options.maxBlockMs ?? 60_000;
    this.maxHoldMs = options.maxHoldMs ?? 5000;
    this.script = options.script ?? BCRYPT_WORKER;
    this.log = options.log;
    this.slots = Array.from({ length: this.size }, () => ({ worker: undefined, job: undefined, idle: undefined }));
  }

  /** Checks queued or running. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Worker threads alive. */
  get workers(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  /**
   * Whether `password` matches `hash`, checked on a worker. Throws a RetryLaterError at once when
   * a bound is reached or `source` is blocked; the promise rejects with one (503) when the worker
   * running it dies. A mismatch counts against `source`; a match clears it if `matchClears`.
   */
  compare(password: string, hash: string, source: string, matchClears = true): Promise<boolean> {
    if (this.closed) throw new RetryLaterError(503, 'the gateway is shutting down', 1);
    const blockedMs = this.blockedMs(source);
    if (blockedMs > 0) {
      const struck = this.strikes.get(source);
      const seconds = Math.ceil(blockedMs / 1000);
      throw this.refuse(
        429,
        `${struck!.failures} failed or refused password checks from ${source}; try again in ${seconds} s`,
        seconds,
        Math.min(Math.max(blockedMs, this.refusalDelayMs), this.maxHoldMs),
      );
    }
    const mine = this.perSource.get(source) ?? 0;
    if (mine >= this.maxPerSource) {
      // Counted as a failure: on a busy machine checks end slowly, and a flood refused only for
      // having too many under way would never be blocked (nor answered cheaply, sourcegate.ts).
      this.judge(source, false);
      throw this.refuse(429, `too many password checks from ${source} under way; try again later`);
    }
    if (this.pendingCount >= this.maxPending)
      throw this.refuse(503, 'the gateway is busy checking other passwords; try again later');
    this.perSource.set(source, mine + 1);
    this.pendingCount++;
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ request: { password, hash }, source, clears: matchClears, resolve, reject });
      this.dispatch();
    });
  }

  /** How long `source`'s checks are still refused for failing (0: not blocked). */
  blockedMs(source: string): number {
    const struck = this.strikes.get(source);
    return struck === undefined ? 0 : struck.until - performance.now();
  }

  /** Stops the workers; checks still queued or running fail with 503. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping: Promise<number>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.idle);
      const w = slot.worker;
      slot.worker = undefined;
      if (slot.job !== undefined) this.fail(slot, new RetryLaterError(503, 'the gateway is shutting down', 1));
      if (w !== undefined) stopping.push(w.terminate());
    }
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      this.release(job);
      job.reject(new RetryLaterError(503, 'the gateway is shutting down', 1));
    }
    await Promise.all(stopping);
  }

  private refuse(status: 429 | 503, message: string, retryAfterS = 1, holdMs = this.refusalDelayMs): RetryLaterError {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= LOG_EVERY_MS) {
      const blocked = [...this.strikes.values()].filter((s) => s.until > performance.now()).length;
      this.log?.warn(
        { refused: this.refusedSinceLog, pending: this.pendingCount, blocked_sources: blocked, status },
        'password checks refused: too many under way or failing from one address',
      );
      this.lastRefusalLog = now;
      this.refusedSinceLog = 0;
    }
    return new RetryLaterError(status, message, retryAfterS, holdMs);
  }

  /** Counts a verdict against its source: failures beyond the free ones block it, a match clears it. */
  private judge(source: string, ok: boolean): void {
    if (ok) {
      this.strikes.delete(source);
      return;
    }
    const now = performance.now();
    let s = this.strikes.get(source);
    if (s === undefined || now - s.last > FORGET_BLOCKS * this.maxBlockMs) s = { failures: 0, last: now, until: 0 };
    s.failures++;
    s.last = now;
    const over = s.failures - this.freeFailures;
    if (over > 0) s.until = now + Math.min(this.maxBlockMs, this.blockMs * 2 ** Math.min(over - 1, 30));
    this.strikes.delete(source); // kept in the order of their last failure
    this.strikes.set(source, s);
    if (this.strikes.size > MAX_SOURCES) this.strikes.delete(this.strikes.keys().next().value as string);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (slot.job !== undefined) continue;
      const job = this.queue.shift()!;
      clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.job = job;
      try {
        slot.worker ??= this.spawn(slot);
        slot.worker.ref(); // a check under way is awaited by someone: it keeps the process for its answer
        slot.worker.postMessage(job.request);
      } catch (e) {
        // A worker that cannot even start (resources exhausted): this check fails, the next tries again.
        slot.worker = undefined;
        this.log?.error({ err: String(e) }, 'cannot start a bcrypt worker thread');
        this.fail(slot, new RetryLaterError(503, 'the password check could not run; try again later', 1));
      }
    }
  }

  private spawn(slot: Slot): Worker {
    // No execArgv: the main thread's Node options are not for it (--input-type, -e and --import refuse or misload).
    const worker = new Worker(this.script, { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: 32 } });
    worker.on('message', (m: BcryptAnswer) => {
      const job = slot.job;
      if (slot.worker !== worker || job === undefined) return;
      slot.job = undefined;
      this.release(job);
      this.judge(job.source, m.ok && job.clears);
      job.resolve(m.ok);
      this.afterJob(slot);
    });
    worker.on('error', (err) => {
      this.log?.error({ err: err.stack ?? err.message }, 'bcrypt worker thread failed');
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return; // stopped on purpose (idle, close)
      slot.worker = undefined;
      clearTimeout(slot.idle);
      slot.idle = undefined;
      if (slot.job !== undefined) {
        this.log?.error({ code }, 'bcrypt worker thread stopped during a check; starting another');
        this.fail(
          slot,
          new RetryLaterError(503, 'the password check failed (its worker thread stopped); try again', 1),
        );
      }
      this.dispatch();
    });
    return worker;
  }

  private fail(slot: Slot, err: RetryLaterError): void {
    const job = slot.job;
    if (job === undefined) return;
    slot.job = undefined;
    this.release(job);
    job.reject(err);
  }

  private release(job: Job): void {
    this.pendingCount--;
    const left = (this.perSource.get(job.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(job.source, left);
    else this.perSource.delete(job.source);
  }

  private afterJob(slot: Slot): void {
    this.dispatch();
    if (slot.job !== undefined || slot.worker === undefined) return;
    const worker = slot.worker;
    worker.unref(); // idle: never what keeps the process from exiting
    slot.idle = setTimeout(() => {
      if (slot.worker !== worker || slot.job !== undefined) return;
      slot.worker = undefined;
      slot.idle = undefined;
      void worker.terminate();
    }, this.idleMs);
    slot.idle.unref();
  }
}
