// Ceilings on what the store holds, so that running out of memory is a refused push and not a
// V8 abort (which kills the process and everything stored with it). Only writes that add a group
// or series are judged: replacing a group with as many series or fewer, and deleting, always
// pass, so a full gateway can still be updated and emptied.
import { getHeapStatistics } from 'node:v8';
import { startupFlag } from '../lib/startupflag.js';
import type { MetricFamily } from '../model.js';
import type { StoredGroup } from './group.js';
import { isTimeName, type RefusalReason } from './types.js';

/** A write the limits refuse: nothing of it is applied, nothing is announced. */
export interface Refusal {
  ok: false;
  refused: RefusalReason;
  /** What happened and what to do about it. */
  error: string;
}

export interface StoreLimitOptions {
  /** Most groups stored (--push.max-groups); 0: no limit. */
  maxGroups: number;
  /** Most series stored, the two push-time series of each group included (--push.max-total-series); 0: no limit. */
  maxTotalSeries: number;
  /**
   * Refuse additions while the heap after a collection is this full, in percent of its limit; 0:
   * off. 80 by default: V8 gave up (abort) with 89 % of a 64 MiB heap in use, so 90 was too late.
   */
  memoryGuardPercent: number;
}

export interface HeapReading {
  used: number;
  limit: number;
}

/**
 * The most the young generation takes of V8's heap limit: two semi-spaces and its large-object
 * space, each as large as a semi-space (16 MiB unless node was started with a size). The old
 * generation runs out at its own limit (--max-old-space-size), which the heap limit exceeds by
 * this: with 4 MiB semi-spaces, 80 % of the whole 76 MiB of a 64 MiB heap was past the point
 * where V8 aborted.
 */
const YOUNG_MAX = 3 * (startupFlag('max-semi-space-size', process.execArgv, process.env.NODE_OPTIONS) ?? 16) * 2 ** 20;

/** ~0.6 µs of CPU (measured, Node 20): cheap beside a write that adds (tens of µs). */
function v8Heap(): HeapReading {
  const s = getHeapStatistics();
  return { used: s.used_heap_size, limit: s.heap_size_limit - YOUNG_MAX };
}

/**
 * Whether the heap is too full to take more. Usage above the mark may be garbage, so the guard
 * then collects (when it may) and judges by what survives; to keep refused writes from paying a
 * collection each, it collects again only after the heap grew by a quarter of the headroom or a
 * second passed, and otherwise keeps the last verdict (the live size cannot have grown by more).
 */
export class MemoryGuard {
  private live = 0;
  private collectedAtMs = -Infinity;

  constructor(
    private readonly fraction: number,
    private readonly gc: (() => void) | undefined,
    private readonly heap: () => HeapReading = v8Heap,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** The reading that says so when the heap is too full, else undefined. */
  full(): HeapReading | undefined {
    let h = this.heap();
    const mark = this.fraction * h.limit;
    if (h.used < mark) return undefined;
    if (this.gc === undefined) return h;
    const step = ((1 - this.fraction) / 4) * h.limit;
    if (h.used - this.live >= step || this.nowMs() - this.collectedAtMs >= 1000) {
      this.gc();
      h = this.heap();
      this.live = h.used;
      this.collectedAtMs = this.nowMs();
    }
    return this.live >= mark ? { used: this.live, limit: h.limit } : undefined;
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/**
 * Series a write adds: the pushed ones less those it replaces, and a new group's two push-time
 * series. A family name pushed twice (possible in protobuf) counts twice: the count errs on the
 * side of refusing.
 */
export function seriesAdded(
  existing: Pick<StoredGroup, 'pushed' | 'pushedFamilies'> | undefined,
  families: readonly MetricFamily[],
  replace: boolean,
): number {
  let added = existing === undefined ? 2 : 0;
  for (const mf of families) {
    if (isTimeName(mf.name)) continue; // never stored: the gateway's own win
    added += mf.metrics.length;
    if (existing !== undefined && !replace) added -= existing.pushed(mf.name)?.seriesCount ?? 0;
  }
  if (existing !== undefined && replace) for (const sf of existing.pushedFamilies()) added -= sf.seriesCount;
  return added;
}

export class StoreLimits {
  private readonly guard: MemoryGuard | undefined;
  /** Writes refused so far, by reason (a self-metric). */
  readonly refusals: Record<RefusalReason, number> = { groups: 0, series: 0, memory: 0 };

  constructor(
    private readonly opts: StoreLimitOptions,
    gc?: () => void,
    heap?: () => HeapReading,
  ) {
    this.guard = opts.memoryGuardPercent > 0 ? new MemoryGuard(opts.memoryGuardPercent / 100, gc, heap) : undefined;
  }

  /**
   * The refusal of a write to `existing` (undefined: a new group) in a store holding `held`, or
   * undefined when it may go ahead.
   */
  admit(
    existing: Pick<StoredGroup, 'pushed' | 'pushedFamilies'> | undefined,
    families: readonly MetricFamily[],
    replace: boolean,
    held: { readonly groupCount: number; readonly seriesCount: number },
  ): Refusal | undefined {
    const { maxGroups, maxTotalSeries } = this.opts;
    if (existing === undefined && maxGroups > 0 && held.groupCount >= maxGroups) {
      return this.refuse(
        'groups',
        `the gateway holds ${held.groupCount} groups, the most --push.max-groups allows: ` +
          'new groups are refused until groups are deleted (existing ones can still be pushed to)',
      );
    }
    const added = seriesAdded(existing, families, replace);
    if (added <= 0) return undefined;
    if (maxTotalSeries > 0 && held.seriesCount + added > maxTotalSeries) {
      return this.refuse(
        'series',
        `the push would bring the gateway to ${held.seriesCount + added} series, more than the ` +
          `${maxTotalSeries} --push.max-total-series allows: delete groups or push fewer series ` +
          '(a group can still be replaced by as many series or fewer)',
      );
    }
    const heap = this.guard?.full();
    if (heap !== undefined) {
      return this.refuse(
        'memory',
        `the gateway's memory is nearly full (${mib(heap.used)} MiB of its ${mib(heap.limit)} MiB heap in use, ` +
          `--push.memory-guard-percent=${this.opts.memoryGuardPercent}): new groups and ` +
          'series are refused until groups are deleted or the gateway is restarted with a larger ' +
          'node --max-old-space-size (existing groups can still be replaced or deleted)',
      );
    }
    return undefined;
  }

  private refuse(refused: RefusalReason, error: string): Refusal {
    this.refusals[refused]++;
    return { ok: false, refused, error };
  }
}
