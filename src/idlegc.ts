// Gives memory back after a burst of writes. Replaced groups leave garbage in V8's old space
// that it collects only when the heap grows again or, with no more allocation, when its memory
// reducer runs (10 s or more later): a gateway loaded by a burst of pushes would hold on to
// that memory all the while. A full collection once the store has been quiet for a second
// returns it at once (as Go's scavenger returns freed memory), at a cost of milliseconds per
// 100,000 series, and never while writes are coming in. A full collection holds the event loop
// for all of it (~2 ms per MiB of live heap here: 310–410 ms at 175 MiB), so above
// IDLE_GC_MAX_HEAP it is left to V8's own incremental collector: a health check or a scrape
// arriving then must not wait for it.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MetricStore } from './store/types.js';

let exposedGc: (() => void) | undefined;

/** V8's gc(), exposed without a command-line flag (once: each new context costs memory). */
export function fullGc(): () => void {
  exposedGc ??= (globalThis as { gc?: () => void }).gc;
  if (exposedGc === undefined) {
    setFlagsFromString('--expose-gc');
    exposedGc = runInNewContext('gc') as () => void;
  }
  return exposedGc;
}

/** Heap in use above which a full collection would hold the event loop too long (~100 ms). */
export const IDLE_GC_MAX_HEAP = 48 * 1024 * 1024;

/**
 * Collects garbage once writes have stopped for `quietMs`, while the heap in use is at most
 * `maxHeap`; returns a function that stops it.
 */
export function collectWhenQuiet(
  store: Pick<MetricStore, 'subscribe'>,
  quietMs = 1000,
  gc: () => void = fullGc(),
  heapUsed: () => number = () => getHeapStatistics().used_heap_size,
  maxHeap = IDLE_GC_MAX_HEAP,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe = store.subscribe(() => {
    timer?.refresh();
    timer ??= setTimeout(() => {
      timer = undefined;
      if (heapUsed() <= maxHeap) gc();
    }, quietMs).unref();
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
