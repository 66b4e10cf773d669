// Work on a large write done in steps (issue #12): a generator yields between steps of `grain`
// series, and is run either at once (small writes: one step per stage, nothing awaited) or a
// slice of ~10 ms at a time with a turn of the event loop between slices, so that health checks,
// scrapes and other pushes are answered while one push of a million series is prepared.

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

/**
 * Sorts `order` in place by `compare` (a total order: no ties), yielding after every `grain`
 * elements sorted or merged: runs of `grain` sorted natively, then merged pairwise, bottom-up.
 */
export function* sortSteps(
  order: Uint32Array,
  compare: (a: number, b: number) => number,
  grain: number,
): Generator<void> {
  const n = order.length;
  const run = Math.max(2, Math.min(grain, n));
  for (let lo = 0; lo < n; lo += run) {
    order.subarray(lo, Math.min(n, lo + run)).sort(compare);
    if (lo + run < n) yield;
  }
  if (run >= n) return;
  let from: Uint32Array = order;
  let to: Uint32Array = new Uint32Array(n);
  let budget = grain;
  for (let width = run; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
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
    [from, to] = [to, from];
  }
  if (from !== order) order.set(from);
}
