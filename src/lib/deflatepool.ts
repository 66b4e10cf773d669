// Compression of a gzipped scrape's blocks on worker threads. Through libuv's thread pool each
// piece came back to the event loop before the next was sent: at 1,000 pushes a second the
// compressors waited on the pushes' turns, and a scrape of a 10,000-group fleet took twice its
// compressing time (three times during a full collection, whose marking shares that loop). A
// worker takes the pieces queued to it one after the other, whatever the event loop is doing.
// Workers start on the first piece, stop after `idleMs` without one, keep the process alive only
// while a piece is queued, and one that dies fails its pieces (the caller compresses them itself).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DeflateAnswer } from './deflateworker.js';

/** The worker script, beside this module (in dist/ and in an installed package). */
const DEFLATE_WORKER = new URL('./deflateworker.js', import.meta.url);

interface Job {
  resolve: (piece: { deflated: Buffer; crc: number }) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  /** Pieces sent to the worker, answered in this order. */
  jobs: Job[];
  idle: NodeJS.Timeout | undefined;
}

export class DeflatePool {
  private readonly slots: Slot[];

  constructor(
    size = Math.min(2, availableParallelism()),
    private readonly idleMs = 30_000,
    private readonly script: URL = DEFLATE_WORKER,
  ) {
    this.slots = Array.from({ length: Math.max(1, size) }, () => ({ worker: undefined, jobs: [], idle: undefined }));
  }

  /** Worker threads alive. */
  get workers(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  /** The bytes (in shared memory, left unchanged until answered) deflated as deflateRawSync with a sync flush does, and their CRC-32. */
  deflate(bytes: Uint8Array): Promise<{ deflated: Buffer; crc: number }> {
    if (!(bytes.buffer instanceof SharedArrayBuffer))
      return Promise.reject(new Error('deflate pool: bytes not in shared memory'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.jobs.length < slot.jobs.length) slot = s;
    const worker = slot.worker ?? this.start(slot);
    clearTimeout(slot.idle);
    if (slot.jobs.length === 0) worker.ref();
    return new Promise((resolve, reject) => {
      slot.jobs.push({ resolve, reject });
      worker.postMessage({ buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength });
    });
  }

  /** Stops the workers; pieces queued fail. */
  close(): void {
    for (const s of this.slots) if (s.worker !== undefined) this.stop(s, new Error('deflate pool closed'));
  }

  private start(slot: Slot): Worker {
    // Not the process's flags (a worker cannot take some, as --input-type); a small heap, as its
    // objects are few (the bytes it reads and makes are outside it).
    const worker = new Worker(this.script, {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    slot.worker = worker;
    worker.on('message', (a: DeflateAnswer) => {
      const job = slot.jobs.shift();
      if (slot.jobs.length === 0) this.rest(slot);
      if (job === undefined) return;
      if ('error' in a) job.reject(new Error(`deflate worker: ${a.error}`));
      else
        job.resolve({
          deflated: Buffer.from(a.deflated.buffer, a.deflated.byteOffset, a.deflated.byteLength),
          crc: a.crc,
        });
    });
    worker.on('error', (err) => {
      if (slot.worker === worker) this.stop(slot, err);
    });
    worker.on('exit', (code) => {
      if (slot.worker === worker) this.stop(slot, new Error(`deflate worker exited with code ${code}`));
    });
    return worker;
  }

  /** Nothing queued: the worker no longer keeps the process alive, and stops if left idle. */
  private rest(slot: Slot): void {
    slot.worker?.unref();
    clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      if (slot.jobs.length === 0 && slot.worker !== undefined) this.stop(slot, new Error('deflate worker idle'));
    }, this.idleMs).unref();
  }

  private stop(slot: Slot, err: Error): void {
    const { worker, jobs } = slot;
    slot.worker = undefined;
    slot.jobs = [];
    clearTimeout(slot.idle);
    void worker?.terminate();
    for (const job of jobs) job.reject(err);
  }
}
