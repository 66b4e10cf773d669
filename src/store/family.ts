// The two ways a group keeps a family: packed into its scrape lines (the usual case), or as the
// parsed objects when the text format cannot hold everything the push carried.
import type { MetricFamily, MetricType } from '../model.js';
import { pack, unpack } from './compact.js';
import { intern } from './grouping.js';
import type { StoredFamily } from './types.js';
import type { PackedRecord } from '../persist/codec.js';

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

  get family(): MetricFamily {
    return unpack(this.name, this.help, this.type, this);
  }

  get packed(): PackedFamily {
    return this;
  }
}

class ParsedFamily implements StoredFamily {
  readonly packed = undefined;
  constructor(
    readonly family: MetricFamily,
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
}

/** A family as persisted packed; trusted as written (the snapshot's checksum covers it). */
export function restorePacked(rec: PackedRecord, timestampMs: number): StoredFamily {
  const help = rec.help === undefined ? undefined : intern(rec.help);
  return new PackedFamily(intern(rec.name), help, rec.type, rec.series, timestampMs, rec.text, rec.order);
}

/** The family as a group keeps it. */
export function storeFamily(mf: MetricFamily, timestampMs: number): StoredFamily {
  const packed = pack(mf);
  if (packed === undefined) return new ParsedFamily(mf, timestampMs);
  // Shared name and HELP strings: a parsed one may be a slice that keeps its whole push body alive.
  const help = mf.help === undefined ? undefined : intern(mf.help);
  return new PackedFamily(intern(mf.name), help, mf.type, mf.metrics.length, timestampMs, packed.text, packed.order);
}
