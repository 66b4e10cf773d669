// The UI's view of the store: every group in display order with what the filter searches,
// kept up to date from the store's change announcements so that filtering and paging 10,000
// groups costs one pass over precomputed strings, not a walk over every family.
import { typeName } from '../store/describe.js';
import type { Group, MetricStore } from '../store/types.js';
import type { GroupSummary, GroupsPage, PageQuery } from './types.js';

const PUSH_TIME = 'push_time_seconds';
const PUSH_FAILURE_TIME = 'push_failure_time_seconds';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

interface Entry {
  group: Group;
  /** job, then the canonical id: groups of one job stay together. */
  sortKey: string;
  /** Lower-cased `name=value` lines of the grouping labels and the family names. */
  haystack: string;
  success: boolean;
  summary?: GroupSummary;
}

function secondsOf(g: Group, name: string): number {
  return g.families.get(name)?.family.metrics[0]?.value ?? 0;
}

function makeEntry(g: Group): Entry {
  let haystack = '';
  for (const [k, v] of Object.entries(g.labels)) haystack += `${k}=${v}\n`;
  for (const name of g.families.keys()) if (name !== PUSH_TIME && name !== PUSH_FAILURE_TIME) haystack += name + '\n';
  return { group: g, sortKey: (g.labels.job ?? '') + '\x00' + g.id, haystack: haystack.toLowerCase(), success: g.lastPushSuccess };
}

function summarize(g: Group): GroupSummary {
  const families = [];
  let series = 0;
  for (const [name, sf] of g.families) {
    if (name === PUSH_TIME || name === PUSH_FAILURE_TIME) continue;
    const n = sf.family.metrics.length;
    series += n;
    families.push({ name, type: typeName(sf.family.type), help: sf.family.help ?? '', series: n });
  }
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pushed = secondsOf(g, PUSH_TIME);
  const failed = secondsOf(g, PUSH_FAILURE_TIME);
  return {
    id: g.id,
    labels: { ...g.labels },
    lastPushMs: pushed > 0 ? pushed * 1000 : null,
    lastFailureMs: failed > 0 ? failed * 1000 : null,
    success: g.lastPushSuccess,
    families,
    series,
  };
}

/** Filter terms: whitespace-separated, all must match; quotes dropped so `job="x"` reads as `job=x`. */
export function filterTerms(filter: string): string[] {
  return filter.toLowerCase().replace(/"/g, '').split(/\s+/).filter((t) => t !== '');
}

export class GroupIndex {
  private entries: Entry[] = [];
  private byId = new Map<string, Entry>();
  /** Ids changed since the last refresh; null when nothing did. */
  private changed: Set<string> | null = new Set();
  private failedCount = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: MetricStore) {
    this.unsubscribe = store.subscribe((c) => {
      (this.changed ??= new Set()).add(c.groupId);
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** Brings entries up to date: only changed groups are recomputed; order only when the set of groups changed. */
  private refresh(): void {
    if (this.changed === null) return;
    const changed = this.changed;
    this.changed = null;
    const next: Entry[] = [];
    const byId = new Map<string, Entry>();
    let membership = this.store.groupCount !== this.entries.length;
    let failed = 0;
    for (const g of this.store.groups()) {
      let e = this.byId.get(g.id);
      if (e === undefined) membership = true;
      if (e === undefined || e.group !== g || changed.has(g.id)) e = makeEntry(g);
      if (!e.success) failed++;
      next.push(e);
      byId.set(g.id, e);
    }
    if (membership) next.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    else {
      // Same groups: keep the old order, with the fresh entries.
      for (let i = 0; i < this.entries.length; i++) next[i] = byId.get(this.entries[i].group.id)!;
    }
    this.entries = next;
    this.byId = byId;
    this.failedCount = failed;
  }

  group(id: string): Group | undefined {
    this.refresh();
    return this.byId.get(id)?.group;
  }

  page(q: PageQuery, nowMs = Date.now()): GroupsPage {
    this.refresh();
    const terms = filterTerms(q.filter);
    const offset = Math.max(0, q.offset);
    const limit = Math.min(MAX_LIMIT, Math.max(1, q.limit));
    const groups: GroupSummary[] = [];
    let matched = 0;
    for (const e of this.entries) {
      if (q.failedOnly && e.success) continue;
      if (terms.length > 0 && !terms.every((t) => e.haystack.includes(t))) continue;
      if (matched >= offset && matched < offset + limit) groups.push((e.summary ??= summarize(e.group)));
      matched++;
    }
    if (groups.length === 0 && matched > 0) {
      // Past the end (the last groups of the last page were deleted): answer the last page.
      return this.page({ ...q, offset: Math.floor((matched - 1) / limit) * limit }, nowMs);
    }
    return { total: this.entries.length, failed: this.failedCount, matched, offset, limit, nowMs, groups };
  }
}

/** Reads filter, failed, offset and limit from a query string; bad numbers fall back to defaults. */
export function parseQuery(params: URLSearchParams): PageQuery {
  const int = (name: string, def: number) => {
    const v = params.get(name);
    if (v === null || !/^\d{1,9}$/.test(v)) return def;
    return Number(v);
  };
  const failed = params.get('failed');
  return {
    filter: params.get('filter') ?? '',
    failedOnly: failed === '1' || failed === 'true',
    offset: int('offset', 0),
    limit: Math.min(MAX_LIMIT, Math.max(1, int('limit', DEFAULT_LIMIT))),
  };
}
