// Gives memory back after a burst of writes. Replaced groups leave garbage in V8's old space
// that it collects only when the heap grows again or, with no more allocation, when its memory
// reducer runs (10 s or more later): a gateway loaded by a burst of pushes would hold on to
// that memory all the while. A full collection once the store has been quiet for a second
// returns it at once (as Go's scavenger returns freed memory), at a cost of milliseconds per
// 100,000 series, and never while writes are coming in. A full collection holds the event loop
// for all of it (~2 ms per MiB of live heap here: 310–410 ms at 175 MiB), so above
// IDLE_GC_MAX_HEAP it is left to V8's own incremental collector: a health check or a scrape
// arriving then must not wait for it.
// The young generation grows under pushes (up to the semi-spaces of nodeflags.ts) and V8 shrinks
// it only at a collection that finds little allocated over the last ~5 s: a young-generation
// collection once writes have been quiet that long gives it back (a few MiB, in well under a
// millisecond, whatever the heap's size).
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MetricStore } from './store/types.js';

/** V8's gc(): a full collection, or with `{ type: 'minor' }` one of the young generation. */
export type Gc = (options?: { type: 'minor' }) => void;

let exposedGc: Gc | undefined;

/** V8's gc(), exposed without a command-line flag (once: each new context costs memory). */
export function fullGc(): Gc {
  exposedGc ??= (globalThis as { gc?: Gc }).gc;
  if (exposedGc === undefined) {
    setFlagsFromString('--expose-gc');
    exposedGc = runInNewContext('gc') as Gc;
  }
  return exposedGc;
}

/** Heap in use above which a full collection would hold the event loop too long (~100 ms). */
export const IDLE_GC_MAX_HEAP = 48 * 1024 * 1024;

/** Quiet time after which V8 finds the allocation rate low enough to shrink the young generation. */
const SHRINK_AFTER_MS = 5500;
/** The young generation's size once shrunk (both semi-spaces at their smallest, with room to spare). */
const YOUNG_SHRUNK = 2 * 1024 * 1024;
/** Tries at giving it back after the writes stopped: reads (a scrape, the API) may keep the rate up for a while. */
const SHRINK_TRIES = 6;

export interface QuietOptions {
  /** Quiet time before the full collection. */
  quietMs?: number;
  /** Quiet time before collecting the young generation, and between tries until V8 has shrunk it. */
  shrinkMs?: number;
  gc?: Gc;
  heapUsed?: () => number;
  /** The young generation's size. */
  youngSize?: () => number;
  /** Heap in use above which no full collection runs. */
  maxHeap?: number;
}

/**
 * Collects garbage once writes have stopped for `quietMs`, while the heap in use is at most
 * `maxHeap`, and the young generation once they have stopped for `shrinkMs` (again every
 * `shrinkMs` while V8 keeps it large, a few times); returns a function that stops it.
 */
export function collectWhenQuiet(store: Pick<MetricStore, 'subscribe'>, options: QuietOptions = {}): () => void {
  const {
    quietMs = 1000,
    shrinkMs = SHRINK_AFTER_MS,
    gc = fullGc(),
    heapUsed = () => getHeapStatistics().used_heap_size,
    youngSize = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
    maxHeap = IDLE_GC_MAX_HEAP,
  } = options;
  let timer: NodeJS.Timeout | undefined;
  let shrink: NodeJS.Timeout | undefined;
  let tries = 0;
  const tryShrink = () => {
    gc({ type: 'minor' });
    shrink = ++tries < SHRINK_TRIES && youngSize() > YOUNG_SHRUNK ? setTimeout(tryShrink, shrinkMs).unref() : undefined;
  };
  const unsubscribe = store.subscribe(() => {
    timer?.refresh();
    timer ??= setTimeout(() => {
      timer = undefined;
      if (heapUsed() <= maxHeap) gc();
    }, quietMs).unref();
    tries = 0;
    shrink?.refresh();
    shrink ??= setTimeout(tryShrink, shrinkMs).unref();
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
    clearTimeout(shrink);
  };
}
