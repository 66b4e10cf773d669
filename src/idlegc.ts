// Gives memory back after a burst of writes. Replaced groups leave garbage in V8's old space
// that it collects only when the heap grows again or, with no more allocation, when its memory
// reducer runs (10 s or more later): a gateway loaded by a burst of pushes would hold on to
// that memory all the while. A full collection once the store has been quiet for a second
// returns it at once (as Go's scavenger returns freed memory), at a cost of milliseconds per
// 100,000 series, and never while writes are coming in.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MetricStore } from './store/types.js';

/** V8's gc(), exposed without a command-line flag. */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
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
