// Grouping keys and the labels every pushed series receives from them.
import type { LabelPair, Metric, MetricFamily } from '../model.js';
import type { GroupingLabels } from './types.js';
import { byCodeUnits, sortInPlace } from '../lib/shortsort.js';

/** Canonical key of a group: sorted label names, names and values joined by \xff. */
export function groupId(labels: GroupingLabels): string {
  const names = sortedNames(labels);
  let id = '';
  for (let i = 0; i < names.length; i++) id += (i === 0 ? '' : '\xff') + names[i] + '\xff' + labels[names[i]];
  return id;
}

const MAX_INTERNED = 100_000;
const shapes = new Map<string, readonly string[]>();

/** The sorted grouping label names, one array for all groups of the same names. */
export function groupShape(labels: GroupingLabels): readonly string[] {
  return shapeOf(sortedNames(labels));
}

/** The label names, sorted. */
export function sortedNames(labels: GroupingLabels): string[] {
  const names = Object.keys(labels);
  sortInPlace(names, byCodeUnits);
  return names;
}

/** groupShape of labels whose names, sorted, are `names`. */
export function shapeOf(names: string[]): readonly string[] {
  const key = names.join('\xff');
  const known = shapes.get(key);
  if (known !== undefined) return known;
  if (shapes.size < MAX_INTERNED) shapes.set(key, names);
  return names;
}

/** The grouping labels sorted by name, `instance=""` added when absent: the labels of push_time_seconds. */
export function groupSeriesLabels(labels: GroupingLabels): LabelPair[] {
  const out: LabelPair[] = Object.keys(labels).map((name) => ({ name, value: labels[name] }));
  if (!('instance' in labels)) out.push({ name: 'instance', value: '' });
  sortInPlace(out, byName);
  return out;
}

function byName(a: LabelPair, b: LabelPair): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// Label and family names, HELP texts repeat across every series and push: one string each
// saves memory per series.
const interned = new Map<string, string>();

export function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(s, s);
  return s;
}

/** The label pairs a push's grouping labels put on each of its series, shared by all of them. */
export function groupingPairs(labels: GroupingLabels): LabelPair[] {
  return Object.keys(labels).map((name) => ({ name: intern(name), value: labels[name] }));
}

const EMPTY_INSTANCE: LabelPair = { name: 'instance', value: '' };

/**
 * Sets the grouping labels on every series (they win over same-named labels in the body), adds
 * `instance=""` where absent, and sorts the labels by name, as the reference does before storing.
 * The grouping label pairs are shared by all series of the push (label pairs are never mutated,
 * but for their names, which pushed pairs get in their interned form).
 */
export function sanitizeFamily(mf: MetricFamily, labels: GroupingLabels): void {
  sanitizeSeries(mf.metrics, 0, mf.metrics.length, groupingPairs(labels));
}

/** sanitizeFamily for the series `from` to `to` (excluded), given the push's groupingPairs. */
export function sanitizeSeries(metrics: Metric[], from: number, to: number, grouping: readonly LabelPair[]): void {
  let groupingInstance = false;
  for (const g of grouping) if (g.name === 'instance') groupingInstance = true;
  for (let i = from; i < to; i++) {
    const m = metrics[i];
    let kept = 0;
    let hasInstance = groupingInstance;
    for (const lp of m.labels) {
      if (isGroupingName(grouping, lp.name)) continue;
      kept++;
      if (lp.name === 'instance') hasInstance = true;
    }
    // Sized exactly: an array grown by push keeps room for 17 labels.
    const out = new Array<LabelPair>(kept + grouping.length + (hasInstance ? 0 : 1));
    let k = 0;
    for (const lp of m.labels) {
      if (isGroupingName(grouping, lp.name)) continue;
      if (lp.unset === undefined) lp.name = intern(lp.name);
      out[k++] = lp;
    }
    for (const g of grouping) out[k++] = g;
    if (!hasInstance) out[k] = EMPTY_INSTANCE;
    m.labels = sortByName(out);
  }
}

/** Whether a label is one of the grouping labels (a handful: a loop beats a Set; `in` would see Object.prototype). */
function isGroupingName(grouping: readonly LabelPair[], name: string): boolean {
  for (let j = 0; j < grouping.length; j++) if (grouping[j].name === name) return true;
  return false;
}

/** Sorts a series' few labels in place, stably: for a handful, cheaper than Array#sort with a comparator. */
function sortByName(labels: LabelPair[]): LabelPair[] {
  for (let i = 1; i < labels.length; i++) {
    const lp = labels[i];
    let j = i - 1;
    for (; j >= 0 && labels[j].name > lp.name; j--) labels[j + 1] = labels[j];
    labels[j + 1] = lp;
  }
  return labels;
}
