// Work on a large write done in steps (issue #12): a generator yields between steps of `grain`
// series, and is run either at once (small writes: one step per stage, nothing awaited) or a
// slice of ~10 ms at a time with a turn of the event loop between slices, so that health checks,
// scrapes and other pushes are answered while one push of a million series is prepared.

import { sortInPlace } from '../lib/shortsort.js';

/** Runs the steps at once. */
export function runNow<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** Runs the steps in slices of about `sliceMs`, yielding to the event loop (setImmediate) between slices. */
export async function runSliced<T>(steps: Generator<void, T>, sliceMs = 10): Promise<T> {
  for (;;) {
    const end = performance.now() + sliceMs;
    for (;;) {
      const r = steps.next();
      if (r.done === true) return r.value;
      if (performance.now() >= end) break;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Stretches already in order shorter than this are sorted with their neighbours instead of kept. */
export const MIN_RUN = 32;

/**
 * Sorts `order` in place by `compare` (a total order: no ties), yielding after every `grain`
 * elements compared, sorted or merged. Stretches already in order are kept as runs (a push often
 * comes sorted, or as a few ascending stretches: ids counted up print in a handful of runs), the
 * rest is sorted natively in blocks of up to `grain`; then neighbouring runs are merged pairwise.
 * Sorted input costs one comparison per element.
 */
export function* sortSteps(
  order: Uint32Array,
  compare: (a: number, b: number) => number,
  grain: number,
): Generator<void> {
  const n = order.length;
  if (n <= MIN_RUN) {
    sortInPlace(order, compare);
    return;
  }
  let budget = grain;
  // Where each stretch in order starts, and n.
  const stretches: number[] = [0];
  for (let k = 1; k < n; k++) {
    if (compare(order[k - 1], order[k]) > 0) stretches.push(k);
    if (--budget === 0) {
      budget = grain;
      yield;
    }
  }
  stretches.push(n);
  // The runs: long stretches as they are, short ones sorted together in blocks of up to `grain`.
  let runs: number[] = [];
  for (let s = 0; s < stretches.length - 1;) {
    const lo = stretches[s];
    if (stretches[s + 1] - lo >= MIN_RUN) {
      runs.push(lo);
      s++;
      continue;
    }
    let t = s + 1;
    while (t < stretches.length - 1 && stretches[t + 1] - stretches[t] < MIN_RUN && stretches[t + 1] - lo <= grain) t++;
    order.subarray(lo, stretches[t]).sort(compare);
    runs.push(lo);
    s = t;
    budget -= stretches[t] - lo;
    if (budget <= 0) {
      budget = grain;
      yield;
    }
  }
  runs.push(n);
  if (runs.length === 2) return;
  let from: Uint32Array = order;
  let to: Uint32Array = new Uint32Array(n);
  while (runs.length > 2) {
    const next: number[] = [];
    for (let r = 0; r < runs.length - 1; r += 2) {
      const lo = runs[r];
      next.push(lo);
      if (r + 2 >= runs.length) {
        to.set(from.subarray(lo, n), lo);
        continue;
      }
      const mid = runs[r + 1];
      const hi = runs[r + 2];
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k++) {
        to[k] = i < mid && (j >= hi || compare(from[i], from[j]) < 0) ? from[i++] : from[j++];
        if (--budget === 0) {
          budget = grain;
          yield;
        }
      }
    }
    next.push(n);
    runs = next;
    [from, to] = [to, from];
  }
  if (from !== order) order.set(from);
}
