// Gives memory back after a burst of writes. Replaced groups leave garbage in V8's old space
// that it collects only when the heap grows again or, with no more allocation, when its memory
// reducer runs (10 s or more later): a gateway loaded by a burst of pushes would hold on to
// that memory all the while. A full collection once the store has been quiet for a second
// returns it at once (as Go's scavenger returns freed memory), at a cost of milliseconds per
// 100,000 series, and never while writes are coming in.
import { setFlagsFromString } from 'node:v8';
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

/** Collects garbage once writes have stopped for `quietMs`; returns a function that stops it. */
export function collectWhenQuiet(
  store: Pick<MetricStore, 'subscribe'>,
  quietMs = 1000,
  gc: () => void = fullGc(),
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe = store.subscribe(() => {
    timer?.refresh();
    timer ??= setTimeout(() => {
      timer = undefined;
      gc();
    }, quietMs).unref();
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
