// The UI's view of the store: every group in display order with what the filter searches,
// kept up to date from the store's change announcements so that filtering and paging 10,000
// groups costs one pass over precomputed strings, not a walk over every family.
import { decodeGoString, encodeGoString } from '../lib/gostring.js';
import { typeName } from '../store/describe.js';
import { parseSelector, SELECTORS_NEED_ADMIN, SelectorError, type Selector } from '../store/selector.js';
import type { ExpiryState, Group, MetricStore } from '../store/types.js';
import type { GroupSummary, GroupsPage, PageQuery } from './types.js';

const PUSH_TIME = 'push_time_seconds';
const PUSH_FAILURE_TIME = 'push_failure_time_seconds';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

interface Entry {
  group: Group;
  /** job, then the canonical id: groups of one job stay together. */
  sortKey: string;
  /** Lower-cased grouping label values and pushed family names, one a line: what a word matches. */
  words: string;
  /** Lower-cased `name=value` lines of the grouping labels: what a word with '=' matches. */
  pairs: string;
  success: boolean;
  summary?: GroupSummary;
}

function makeEntry(g: Group): Entry {
  let words = '';
  let pairs = '';
  for (const [k, v] of Object.entries(g.labels)) {
    words += v + '\n';
    pairs += `\n${k}=${v}`;
  }
  for (const name of g.families.keys()) if (name !== PUSH_TIME && name !== PUSH_FAILURE_TIME) words += name + '\n';
  return {
    group: g,
    sortKey: (g.labels.job ?? '') + '\x00' + g.id,
    words: words.toLowerCase(),
    pairs: pairs.toLowerCase(),
    success: g.lastPushSuccess,
  };
}

/**
 * A string as base64url of its bytes, Go's bytes: a value that was not UTF-8 (held as lone
 * surrogates) gets its original bytes back, so ids and delete paths work for every group.
 */
function b64(s: string): string {
  return Buffer.from(encodeGoString(s)).toString('base64url');
}

/** The URL-safe id of a group (see GroupSummary.id). */
function groupKey(id: string): string {
  return b64(id);
}

/** The group's push path, every value @base64; an empty value as '=' so the segment stays. */
function groupPath(labels: Readonly<Record<string, string>>): string {
  let p = `/metrics/job@base64/${b64(labels.job ?? '') || '='}`;
  for (const [k, v] of Object.entries(labels)) if (k !== 'job') p += `/${k}@base64/${b64(v) || '='}`;
  return p;
}

function summarize(g: Group, expiry: ExpiryState): GroupSummary {
  const families = [];
  let series = 0;
  for (const [name, sf] of g.families) {
    if (name === PUSH_TIME || name === PUSH_FAILURE_TIME) continue;
    const n = sf.seriesCount;
    series += n;
    families.push({ name, type: typeName(sf.type), help: sf.help ?? '', series: n });
  }
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pushed = g.pushTimeSeconds;
  const failed = g.failureTimeSeconds;
  const expiresMs = expiry.deadline(g);
  return {
    ...(expiresMs === undefined ? {} : { expiresMs }),
    id: groupKey(g.id),
    path: groupPath(g.labels),
    labels: { ...g.labels },
    lastPushMs: pushed > 0 ? pushed * 1000 : null,
    lastFailureMs: failed > 0 ? failed * 1000 : null,
    success: g.lastPushSuccess,
    ...(!g.lastPushSuccess && g.lastFailureReason !== undefined ? { failureReason: g.lastFailureReason } : {}),
    families,
    series,
  };
}

/**
 * Filter terms: whitespace-separated, all must match, case-insensitive. A word matches part of a
 * grouping label value or of a pushed family's name; `name=value` (quotes optional) matches a
 * grouping label whose name is `name` and whose value starts with `value`.
 */
export function filterTerms(filter: string): string[] {
  return filter
    .toLowerCase()
    .replace(/"/g, '')
    .split(/\s+/)
    .filter((t) => t !== '');
}

/** The filter as a selector when it is one (starts with `{`); a SelectorError when it is not valid. */
function filterSelector(filter: string): Selector | SelectorError | undefined {
  if (!filter.trimStart().startsWith('{')) return undefined;
  try {
    return parseSelector(filter);
  } catch (e) {
    if (e instanceof SelectorError) return e;
    throw e;
  }
}

const byKey = (a: Entry, b: Entry) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0);

export class GroupIndex {
  private entries: Entry[] = [];
  private byId = new Map<string, Entry>();
  /** Ids changed since the last refresh; null when nothing did. */
  private changed: Set<string> | null = new Set();
  private failedCount = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MetricStore,
    /** Whether a filter may be a selector (--web.enable-admin-api). */
    private readonly selectors = false,
  ) {
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
    if (membership) next.sort(byKey);
    else {
      // Same groups: keep the old order, with the fresh entries.
      for (let i = 0; i < this.entries.length; i++) next[i] = byId.get(this.entries[i].group.id)!;
    }
    this.entries = next;
    this.byId = byId;
    this.failedCount = failed;
  }

  /** The group of a GroupSummary.id. */
  group(key: string): Group | undefined {
    if (!/^[A-Za-z0-9_-]*$/.test(key)) return undefined;
    this.refresh();
    return this.byId.get(decodeGoString(Buffer.from(key, 'base64url')))?.group;
  }

  page(q: PageQuery, nowMs = Date.now()): GroupsPage {
    this.refresh();
    const expiry = this.store.expiry;
    const offset = Math.max(0, q.offset);
    const limit = Math.min(MAX_LIMIT, Math.max(1, q.limit));
    const head = { total: this.entries.length, failed: this.failedCount, offset, limit, nowMs };
    const withDeadline = expiry.scheduled;
    const selector = filterSelector(q.filter);
    if (selector !== undefined && !this.selectors)
      return { ...head, matched: 0, groups: [], withDeadline, filterError: SELECTORS_NEED_ADMIN };
    if (selector instanceof SelectorError)
      return { ...head, matched: 0, groups: [], withDeadline, filterError: `invalid selector: ${selector.message}` };
    const terms = selector === undefined ? filterTerms(q.filter) : [];
    let selected = 0;
    let matching: Entry[] = [];
    for (const e of this.entries) {
      if (selector !== undefined) {
        if (!selector.matches(e.group.labels)) continue;
        selected++;
      }
      if (q.failedOnly && e.success) continue;
      if (q.expiringOnly && expiry.deadline(e.group) === undefined) continue;
      if (terms.length > 0 && !terms.every((t) => (t.includes('=') ? e.pairs.includes('\n' + t) : e.words.includes(t))))
        continue;
      matching.push(e);
    }
    if (q.sort === 'expiry') {
      const deadlines = new Map(matching.map((e) => [e, expiry.deadline(e.group) ?? Infinity]));
      matching = matching.sort((a, b) => deadlines.get(a)! - deadlines.get(b)! || byKey(a, b));
    }
    const matched = matching.length;
    if (offset >= matched && matched > 0) {
      // Past the end (the last groups of the last page were deleted): answer the last page.
      return this.page({ ...q, offset: Math.floor((matched - 1) / limit) * limit }, nowMs);
    }
    const groups = matching.slice(offset, offset + limit).map((e) => (e.summary ??= summarize(e.group, expiry)));
    return {
      ...head,
      matched,
      groups,
      withDeadline,
      ...(selector === undefined ? {} : { selector: { text: q.filter.trim(), matched: selected } }),
    };
  }
}

/** Reads filter, failed, expiring, sort, offset and limit from a query string; bad values fall back to defaults. */
export function parseQuery(params: URLSearchParams): PageQuery {
  const int = (name: string, def: number) => {
    const v = params.get(name);
    if (v === null || !/^\d{1,9}$/.test(v)) return def;
    return Number(v);
  };
  const flag = (name: string) => {
    const v = params.get(name);
    return v === '1' || v === 'true';
  };
  return {
    filter: params.get('filter') ?? '',
    failedOnly: flag('failed'),
    expiringOnly: flag('expiring'),
    sort: params.get('sort') === 'expiry' ? 'expiry' : 'key',
    offset: int('offset', 0),
    limit: Math.min(MAX_LIMIT, Math.max(1, int('limit', DEFAULT_LIMIT))),
  };
}
