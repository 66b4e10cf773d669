// Grouping keys and the labels every pushed series receives from them.
import type { LabelPair, MetricFamily } from '../model.js';
import type { GroupingLabels } from './types.js';

/** Canonical key of a group: sorted label names, names and values joined by \xff. */
export function groupId(labels: GroupingLabels): string {
  const names = Object.keys(labels).sort();
  let id = '';
  for (let i = 0; i < names.length; i++) id += (i === 0 ? '' : '\xff') + names[i] + '\xff' + labels[names[i]];
  return id;
}

/** The grouping labels sorted by name, `instance=""` added when absent: the labels of push_time_seconds. */
export function groupSeriesLabels(labels: GroupingLabels): LabelPair[] {
  const out: LabelPair[] = Object.keys(labels).map((name) => ({ name, value: labels[name] }));
  if (!('instance' in labels)) out.push({ name: 'instance', value: '' });
  return out.sort(byName);
}

function byName(a: LabelPair, b: LabelPair): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Sets the grouping labels on every series (they win over same-named labels in the body), adds
 * `instance=""` where absent, and sorts the labels by name, as the reference does before storing.
 */
export function sanitizeFamily(mf: MetricFamily, labels: GroupingLabels): void {
  const groupingNames = Object.keys(labels);
  for (const m of mf.metrics) {
    const own = m.labels.filter((lp) => !(lp.name in labels));
    for (const name of groupingNames) own.push({ name, value: labels[name] });
    if (!own.some((lp) => lp.name === 'instance')) own.push({ name: 'instance', value: '' });
    m.labels = own.sort(byName);
  }
}
