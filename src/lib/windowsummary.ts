// A summary as the reference keeps its push durations and sizes: exact count and sum, and
// quantiles over a sliding window of ageBuckets buckets. Written here because prom-client's
// Summary folds every observation into t-digests, which cost ~10 % of a small push; here an
// observation costs a few additions and, past a bucket's sample size, a random draw
// (reservoir sampling), and the quantiles are computed when the gateway is scraped.
import type { MetricFamily } from '../model.js';

export interface WindowSummaryOptions {
  quantiles: readonly number[];
  maxAgeMs: number;
  ageBuckets: number;
  /** Observations kept per age bucket; beyond it, a uniform sample of them. */
  samplesPerBucket?: number;
  now?: () => number;
  random?: () => number;
}

interface AgeBucket {
  startMs: number;
  /** Observations that fell in the bucket, sampled or not. */
  seen: number;
  samples: number[];
  /** The samples in order, until the next observation: only the newest bucket's change. */
  sorted: Float64Array | undefined;
}

interface Series {
  count: number;
  sum: number;
  buckets: AgeBucket[];
}

export class WindowSummary {
  private readonly series = new Map<string, Series>();
  private readonly spanMs: number;
  private readonly size: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly name: string,
    readonly help: string,
    /** The one label the summary is split by. */
    readonly labelName: string,
    private readonly opts: WindowSummaryOptions,
  ) {
    this.spanMs = opts.maxAgeMs / opts.ageBuckets;
    this.size = opts.samplesPerBucket ?? 500;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  observe(labelValue: string, value: number): void {
    let s = this.series.get(labelValue);
    if (s === undefined) this.series.set(labelValue, (s = { count: 0, sum: 0, buckets: [] }));
    s.count++;
    s.sum += value;
    const now = this.now();
    let b = s.buckets[s.buckets.length - 1];
    if (b === undefined || now - b.startMs >= this.spanMs) {
      this.expire(s, now);
      s.buckets.push((b = { startMs: now, seen: 0, samples: [], sorted: undefined }));
    }
    b.seen++;
    b.sorted = undefined;
    if (b.samples.length < this.size) b.samples.push(value);
    else {
      const j = Math.floor(this.random() * b.seen);
      if (j < this.size) b.samples[j] = value;
    }
  }

  private expire(s: Series, now: number): void {
    while (s.buckets.length > 0 && now - s.buckets[0].startMs >= this.opts.maxAgeMs) s.buckets.shift();
  }

  /**
   * The summary as a family, its series in label order. A quantile over a window without
   * observations is NaN, as the reference reports it.
   */
  family(): MetricFamily {
    const now = this.now();
    const metrics = [...this.series.keys()].sort().map((labelValue) => {
      const s = this.series.get(labelValue)!;
      this.expire(s, now);
      return {
        labels: [{ name: this.labelName, value: labelValue }],
        summary: {
          sampleCount: s.count,
          sampleSum: s.sum,
          quantiles: this.quantiles(s.buckets).map((value, i) => ({ quantile: this.opts.quantiles[i], value })),
        },
      };
    });
    return { name: this.name, help: this.help, type: 'summary', metrics };
  }

  /**
   * Each quantile of the window: the smallest sample whose weighted rank reaches it. The buckets'
   * samples are merged in order from their sorted copies (sorting all 2,500 of them as pairs at
   * every scrape after a push was a tenth of a 1M-series scrape).
   */
  private quantiles(buckets: readonly AgeBucket[]): number[] {
    const sorted: Float64Array[] = [];
    const weight: number[] = [];
    let total = 0;
    for (const b of buckets) {
      if (b.samples.length === 0) continue;
      sorted.push((b.sorted ??= Float64Array.from(b.samples).sort()));
      // A sampled bucket's samples each stand for several observations.
      weight.push(b.seen / b.samples.length);
      total += b.seen;
    }
    const qs = this.opts.quantiles;
    if (sorted.length === 0) return qs.map(() => NaN);
    const out = new Array<number>(qs.length);
    const order = qs.map((_, i) => i).sort((a, b) => qs[a] - qs[b]);
    const next = new Array<number>(sorted.length).fill(0);
    let acc = 0;
    let last = NaN;
    let k = 0;
    for (;;) {
      let from = -1;
      for (let j = 0; j < sorted.length; j++)
        if (next[j] < sorted[j].length && (from < 0 || sorted[j][next[j]] < sorted[from][next[from]])) from = j;
      if (from < 0) break;
      last = sorted[from][next[from]++];
      acc += weight[from];
      while (k < order.length && acc >= qs[order[k]] * total) out[order[k++]] = last;
      if (k === order.length) return out;
    }
    while (k < order.length) out[order[k++]] = last;
    return out;
  }
}
