// Wall-clock time for a group's push and failure times. The reference stamps them in nanoseconds,
// so two changes of a group within a millisecond still order (last_push_successful compares them).

/** Wall-clock minus monotonic milliseconds, as last anchored. */
let offset = Number.NaN;

/**
 * Unix milliseconds with sub-millisecond digits, from the monotonic clock anchored to the wall
 * clock: calls in turn never go back. (The wall clock's milliseconds plus the monotonic clock's
 * digits did: their milliseconds do not turn over together, so a failed push could be stamped
 * before the push it followed, which then showed as the last push succeeding.) Anchored again
 * when the wall clock has moved from it by over a millisecond (a clock step or slew).
 */
export function nowMs(): number {
  const wall = Date.now();
  let t = offset + performance.now();
  if (!(t >= wall - 1 && t < wall + 2)) {
    offset = wall + 0.5 - performance.now();
    t = offset + performance.now();
  }
  return t;
}
