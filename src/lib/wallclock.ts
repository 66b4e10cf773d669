// Wall-clock time for a group's push and failure times. The reference stamps them in nanoseconds,
// so two changes of a group within a millisecond still order (last_push_successful compares them).

/** Wall-clock minus monotonic milliseconds, as last anchored. */
let offset = Number.NaN;
/** The last time given out. */
let last = -Infinity;
/** A clock stepped back further than this is followed back, as the reference's time.Now() would be. */
const STEPPED_BACK_MS = 1000;

/**
 * Unix milliseconds with sub-millisecond digits, from the monotonic clock anchored to the wall
 * clock: calls in turn give later times. (The wall clock's milliseconds plus the monotonic clock's
 * digits did not: their milliseconds do not turn over together, so a failed push could be stamped
 * before the push it followed, which then showed as the last push succeeding.) Anchored again
 * when the wall clock has moved from it by over a millisecond (a clock step or slew); where that
 * moves it back (the monotonic clock ran ahead), the times given out step on from the last one
 * until the anchored clock passes it.
 */
export function nowMs(): number {
  const wall = Date.now();
  let t = offset + performance.now();
  if (!(t >= wall - 1 && t < wall + 2)) {
    offset = wall + 0.5 - performance.now();
    t = offset + performance.now();
  }
  // One unit in the last place of the double (~0.24 µs near 2e12 ms): stamps a microsecond or
  // more apart, as any two pushes are, stay on the anchored clock.
  if (t <= last && last - t < STEPPED_BACK_MS) t = last + 2 ** (Math.floor(Math.log2(last)) - 52);
  last = t;
  return t;
}
