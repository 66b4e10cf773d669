// What a write does before its turn to change the store (issue #12): everything that depends on
// the push alone. Its families are sanitized, their series put in scrape order, checked for what
// they are by themselves (types, labels, repeats in the push) and packed, as steps that a large
// push runs in slices of ~10 ms (slices.ts); the store then checks only what depends on what it
// holds and commits, in one short turn (memory.ts).
import type { MetricFamily } from '../model.js';
import { NO_PROBLEMS, type CheckedFamily, type ConsistencyIndex } from './consistency.js';
import { mayPack, packNow, packSteps, seriesOrder, seriesOrderSteps, type Packed } from './compact.js';
import { groupingPairs, sanitizeSeries } from './grouping.js';
import { isTimeName, type GroupingLabels } from './types.js';

export interface PreparedFamily extends CheckedFamily {
  /** The family packed, or undefined: kept as the parsed objects (or the write fails anyway). */
  readonly packed: Packed | undefined;
}

export interface PreparedWrite {
  /** A series carries a timestamp: the write fails, and nothing else was prepared. */
  readonly timestamps: boolean;
  /** The pushed families but those of the gateway's own names, sanitized. */
  readonly families: PreparedFamily[];
}

/** Whether a series carries a timestamp (the write fails): checked before anything else. */
function hasTimestamps(families: readonly MetricFamily[]): boolean {
  for (const mf of families) for (const m of mf.metrics) if (m.timestampMs !== undefined) return true;
  return false;
}

/**
 * The gateway's own push_time_seconds and push_failure_time_seconds always win over pushed
 * families of those names (the reference lets a pushed one in and then fails every scrape).
 */
function withoutTimeFamilies(families: readonly MetricFamily[]): readonly MetricFamily[] {
  for (const mf of families) if (isTimeName(mf.name)) return families.filter((f) => !isTimeName(f.name));
  return families;
}

/** Prepares one family of a push, sanitized already, at once. */
function prepareFamily(mf: MetricFamily, index: ConsistencyIndex | undefined): PreparedFamily {
  const packable = mayPack(mf);
  if (index === undefined && !packable) return { mf, verdicts: NO_PROBLEMS, packed: undefined };
  const order = seriesOrder(mf.metrics);
  const verdicts = index === undefined ? NO_PROBLEMS : index.verdicts(mf, order);
  // A family with problems fails the write: not worth packing.
  const packed = packable && verdicts.problems.length === 0 ? packNow(mf, order) : undefined;
  return { mf, verdicts, packed };
}

/**
 * Prepares writing `families` into the group of `labels`, checked with `index` (undefined: the
 * check is off), at once: prepareSteps without a generator, for the usual small push.
 */
export function prepareNow(
  families: readonly MetricFamily[],
  labels: GroupingLabels,
  index: ConsistencyIndex | undefined,
): PreparedWrite {
  if (hasTimestamps(families)) return { timestamps: true, families: [] };
  const pushed = withoutTimeFamilies(families);
  const grouping = groupingPairs(labels);
  const prepared = new Array<PreparedFamily>(pushed.length);
  for (let f = 0; f < pushed.length; f++) {
    const mf = pushed[f];
    sanitizeSeries(mf.metrics, 0, mf.metrics.length, grouping);
    prepared[f] = prepareFamily(mf, index);
  }
  return { timestamps: false, families: prepared };
}

/** prepareNow in steps of `grain` series. */
export function* prepareSteps(
  families: readonly MetricFamily[],
  labels: GroupingLabels,
  index: ConsistencyIndex | undefined,
  grain: number,
): Generator<void, PreparedWrite> {
  let step = 0;
  for (const mf of families) {
    for (const m of mf.metrics) {
      if (m.timestampMs !== undefined) return { timestamps: true, families: [] };
      if (++step === grain) {
        step = 0;
        yield;
      }
    }
  }
  const pushed = withoutTimeFamilies(families);
  const grouping = groupingPairs(labels);
  for (const mf of pushed) {
    for (let from = 0; from < mf.metrics.length; from += grain) {
      sanitizeSeries(mf.metrics, from, Math.min(mf.metrics.length, from + grain), grouping);
      yield;
    }
  }
  const prepared: PreparedFamily[] = [];
  for (const mf of pushed) {
    if (mf.metrics.length <= grain) {
      prepared.push(prepareFamily(mf, index));
      continue;
    }
    const packable = mayPack(mf);
    if (index === undefined && !packable) {
      prepared.push({ mf, verdicts: NO_PROBLEMS, packed: undefined });
      continue;
    }
    const order = yield* seriesOrderSteps(mf.metrics, grain);
    const verdicts = index === undefined ? NO_PROBLEMS : yield* index.verdictSteps(mf, order, grain);
    const packed = packable && verdicts.problems.length === 0 ? yield* packSteps(mf, order, grain) : undefined;
    prepared.push({ mf, verdicts, packed });
  }
  return { timestamps: false, families: prepared };
}

/** A family of the gateway's own (one series), checked at once as a write's turn makes it. */
export function checkedNow(mf: MetricFamily, index: ConsistencyIndex): CheckedFamily {
  return { mf, verdicts: index.verdicts(mf, seriesOrder(mf.metrics)) };
}
