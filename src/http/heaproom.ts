// Room for the heap to grow while a large push is parsed and applied (issue #12). The gateway runs
// with --heap-growing-percent=20 (nodeflags.ts): the store grows slowly, and a small step keeps
// the heap close to it. A push of 250,000 series builds ~100 MiB of objects that all live until
// it is stored, and at 20 % V8 marks the whole growing heap again every fifth of the way: measured
// in-process (bench/pushstages.ts, the gateway's flags), 4.9 s of CPU for such a push, 2.9 s with
// 100 % while it runs (V8 reads the flag at each collection, so setting it at run time takes
// effect). The step is put back when the last large push ends; the next full collection then
// sizes the heap by it again.
import { setFlagsFromString } from 'node:v8';
import { startupFlag } from '../lib/startupflag.js';

const FLAG = '--heap-growing-percent';
/** The step while a large push runs: at most one extra marking per doubling of the heap. */
export const LARGE_PUSH_GROWTH = 100;

/** One push's hold on the wider step: widen() once its body is known large, release() when it ends. */
export interface HeapLease {
  /** Widens the step until release (once; nothing after release). */
  widen(): void;
  /** Gives the hold back, if any; later calls (and widen) do nothing. */
  release(): void;
}

/** Counts the large pushes under way; the first widens the step, the last puts it back. */
export class HeapRoom {
  private active = 0;

  constructor(
    // Without the flag (0), V8 picks a step of its own.
    private readonly normal = startupFlag('heap-growing-percent', process.execArgv, process.env.NODE_OPTIONS) ?? 0,
    private readonly set: (percent: number) => void = (percent) => setFlagsFromString(`${FLAG}=${percent}`),
  ) {}

  /** Pushes under way that hold the wider step. */
  get holders(): number {
    return this.active;
  }

  lease(): HeapLease {
    // Without the flag (0), V8 picks a step of its own, often larger: left alone.
    const wider = this.normal > 0 && this.normal < LARGE_PUSH_GROWTH;
    let state: 'idle' | 'held' | 'released' = 'idle';
    return {
      widen: () => {
        if (state !== 'idle' || !wider) return;
        state = 'held';
        if (this.active++ === 0) this.set(LARGE_PUSH_GROWTH);
      },
      release: () => {
        const held = state === 'held';
        state = 'released';
        if (held && --this.active === 0) this.set(this.normal);
      },
    };
  }
}

/** The process's one HeapRoom: the flag is process-wide. */
export const heapRoom = new HeapRoom();
