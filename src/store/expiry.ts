// Group expiry (docs/expiry.md): a group goes when its TTL has passed since its last successful
// push. The store keeps each group's deadline in one heap (deadlines.ts) and arms ONE timer, for
// the earliest; nothing is done per idle group, and with no TTL anywhere (no default, no header
// seen) nothing at all. The store removes a due group in its order, as a DELETE would.
import { Deadlines } from './deadlines.js';
import type { StoredGroup } from './group.js';
import { PUSH_TIME, type ExpiryState, type Group } from './types.js';

export interface ExpiryOptions {
  /** --push.default-ttl in milliseconds; 0: groups without a TTL of their own never expire. */
  defaultTtlMs?: number;
  /**
   * Removes due groups in place of the store (a replica store sends the removals through its
   * shared backend, and only on the replica that runs expiry); the store removes them itself when absent.
   */
  remove?: (ids: string[]) => void;
}

/** Longest the timer sleeps, so a wall clock set forward is noticed within this time. */
const MAX_SLEEP_MS = 10_000;
/** Groups removed per turn of the event loop when many are due at once. */
const BATCH = 1000;
/**
 * The timer fires on this grid of wall-clock times, at the first step at or after the earliest
 * deadline, taking every group due by then: with deadlines spread over every millisecond (100,000
 * groups re-pushed at their own times), a timer per deadline fired ~2,000 times a second, each a
 * task, a timer set and a pass through the heap's top, to take one or two groups each time.
 * Removal is then up to this much later than the deadline; the promise is a second.
 */
const EXPIRY_TICK_MS = 50;

export class GroupExpiry implements ExpiryState {
  readonly defaultTtlMs: number;
  expired = 0;
  /** A TTL is in play: a default, or a push that brought one. Until then nothing is tracked. */
  active: boolean;
  private readonly deadlines = new Deadlines();
  /** Timers run once the store is live (see MetricStore.expireOverdue); restores only schedule. */
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  /**
   * The time the timer is set for: a deadline, or the end of a capped sleep. Kept as the deadline
   * itself (not now + the rounded delay) so that the next write, which finds the same earliest
   * deadline, leaves the timer alone: re-setting it on every write cost a timer per push and made
   * it fire up to hundreds of milliseconds late under a stream of pushes.
   */
  private armedFor = Infinity;
  /** Timers set so far (tests check that pushes do not re-set it). */
  timersSet = 0;
  private closed = false;

  constructor(
    options: ExpiryOptions,
    /** Removes these groups if they are still due when their turn comes. */
    private readonly expire: (ids: string[]) => void,
  ) {
    this.defaultTtlMs = options.defaultTtlMs ?? 0;
    this.active = this.defaultTtlMs > 0;
  }

  get scheduled(): number {
    return this.deadlines.size;
  }

  deadline(group: Group): number | undefined {
    const ttl = group.ttlMs ?? this.defaultTtlMs;
    return ttl > 0 ? group.families.get(PUSH_TIME)!.timestampMs + ttl : undefined;
  }

  /** The group's deadline: its last successful push (or its creation, if none) plus its TTL. */
  private deadlineOf(group: StoredGroup): number | undefined {
    const ttl = group.ttlMs ?? this.defaultTtlMs;
    return ttl > 0 ? group.pushTimeMs + ttl : undefined;
  }

  due(group: StoredGroup, nowMs: number): boolean {
    const d = this.deadlineOf(group);
    return d !== undefined && d <= nowMs;
  }

  /** After a change of `group` (undefined: none was made); `live`: a write, which starts the timer. */
  track(group: StoredGroup | undefined, live: boolean): void {
    if (group !== undefined) {
      const d = this.deadlineOf(group);
      if (d === undefined) this.deadlines.delete(group);
      else this.deadlines.set(group, d);
    }
    if (live) this.started = true;
    this.arm();
  }

  /** After the group's removal. */
  untrack(group: StoredGroup): void {
    this.deadlines.delete(group);
    this.arm();
  }

  /** Starts the timer and hands every group due now to `expire`. */
  start(nowMs: number): void {
    this.started = true;
    this.fire(nowMs, Infinity);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(nowMs: number, max: number): void {
    const due = this.deadlines.popDue(nowMs, max);
    if (due.length > 0) this.expire(due);
    if (due.length === max) this.later(nowMs);
    else this.arm();
  }

  /** Sets the timer for the step of the earliest deadline, unless it is set for that time or sooner. */
  private arm(): void {
    if (!this.started || this.closed) return;
    const next = this.deadlines.next();
    if (next === undefined) return;
    const at = Math.ceil(next / EXPIRY_TICK_MS) * EXPIRY_TICK_MS;
    if (at >= this.armedFor) return;
    this.later(at);
  }

  /** Sets the timer for the time `at` (epoch ms), or for MAX_SLEEP_MS from now if that is sooner. */
  private later(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const now = Date.now();
    const delay = Math.min(Math.max(0, Math.ceil(at - now)), MAX_SLEEP_MS);
    this.armedFor = delay === MAX_SLEEP_MS ? now + delay : at;
    this.timersSet++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = Infinity;
      this.fire(Date.now(), BATCH);
    }, delay);
    this.timer.unref();
  }
}
