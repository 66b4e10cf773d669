// The two ways a group keeps a family: packed into its scrape lines (the usual case), or as the
// parsed objects when the text format cannot hold everything the push carried.
import type { MetricFamily, MetricType } from '../model.js';
import { byteString } from '../lib/gostring.js';
import { renderSeries } from '../lib/textformat.js';
import { pack, unpack, type Packed } from './compact.js';
import { intern } from './grouping.js';
import type { FamilyRecord, PackedRecord, StoredFamily } from './types.js';

class PackedFamily implements StoredFamily {
  constructor(
    readonly name: string,
    readonly help: string | undefined,
    readonly type: MetricType,
    readonly seriesCount: number,
    readonly timestampMs: number,
    readonly text: string,
    readonly order: string | undefined,
  ) {}

  lines(): string {
    return this.text;
  }

  unpack(): MetricFamily {
    return unpack(this.name, this.help, this.type, this);
  }

  record(): FamilyRecord {
    const rec: PackedRecord = { name: this.name, type: this.type, series: this.seriesCount, text: this.text };
    if (this.help !== undefined) rec.help = this.help;
    if (this.order !== undefined) rec.order = this.order;
    return { packed: rec, timestampMs: this.timestampMs };
  }
}

/** Sorted series joined, repeated series (possible with the check off) shown once. */
export function sortedLines(mf: MetricFamily): string {
  const series = renderSeries(mf);
  let text = '';
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    if (i > 0 && s.sort === series[i - 1].sort && seriesIdOf(s.text) === seriesIdOf(series[i - 1].text)) continue;
    text += s.text;
  }
  return byteString(text);
}

/** A rendered series' first line up to its value: its name and labels. */
function seriesIdOf(text: string): string {
  return text.slice(0, text.lastIndexOf(' ', text.indexOf('\n')));
}

class ParsedFamily implements StoredFamily {
  private rendered: string | undefined;
  constructor(
    private readonly family: MetricFamily,
    readonly timestampMs: number,
  ) {}

  get name(): string {
    return this.family.name;
  }
  get help(): string | undefined {
    return this.family.help;
  }
  get type(): MetricType {
    return this.family.type;
  }
  get seriesCount(): number {
    return this.family.metrics.length;
  }

  lines(): string {
    // Rendered at the first scrape, not at the push: most such families are never scraped as text.
    this.rendered ??= sortedLines(this.family);
    return this.rendered;
  }

  unpack(): MetricFamily {
    return structuredClone(this.family);
  }

  record(): FamilyRecord {
    return { family: this.family, timestampMs: this.timestampMs };
  }

  /** Whether a series of these labels is stored (see MemoryStore.holds). */
  metrics(): MetricFamily['metrics'] {
    return this.family.metrics;
  }
}

/** A family as persisted packed; trusted as written (the snapshot's checksum covers it). */
export function restorePacked(rec: PackedRecord, timestampMs: number): StoredFamily {
  const help = rec.help === undefined ? undefined : intern(rec.help);
  return new PackedFamily(intern(rec.name), help, rec.type, rec.series, timestampMs, rec.text, rec.order);
}

/** The family as a group keeps it. */
export function storeFamily(mf: MetricFamily, timestampMs: number): StoredFamily {
  return preparedFamily(mf, pack(mf), timestampMs);
}

/** The family as a group keeps it, packed already (or undefined: not packable). */
export function preparedFamily(mf: MetricFamily, packed: Packed | undefined, timestampMs: number): StoredFamily {
  if (packed === undefined) return new ParsedFamily(mf, timestampMs);
  // Shared name and HELP strings: a parsed one may be a slice that keeps its whole push body alive.
  const help = mf.help === undefined ? undefined : intern(mf.help);
  return new PackedFamily(intern(mf.name), help, mf.type, mf.metrics.length, timestampMs, packed.text, packed.order);
}

/** A packed family (packedText is defined) with the same series showing other values, written at `timestampMs`. */
export function withLines(sf: StoredFamily, text: string, timestampMs: number): StoredFamily {
  const p = sf as PackedFamily;
  return new PackedFamily(p.name, p.help, p.type, p.seriesCount, timestampMs, text, p.order);
}

/** The parsed series of a family kept as objects, or undefined for a packed one. */
export function parsedMetrics(sf: StoredFamily): MetricFamily['metrics'] | undefined {
  return sf instanceof ParsedFamily ? sf.metrics() : undefined;
}

/** The packed lines of a family kept packed, or undefined. */
export function packedText(sf: StoredFamily): string | undefined {
  return sf instanceof PackedFamily ? sf.text : undefined;
}
