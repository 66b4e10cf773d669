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
      s.buckets.push((b = { startMs: now, seen: 0, samples: [] }));
    }
    b.seen++;
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

  /** Each quantile of the window: the smallest sample whose weighted rank reaches it. */
  private quantiles(buckets: readonly AgeBucket[]): number[] {
    const weighted: Array<[value: number, weight: number]> = [];
    let total = 0;
    for (const b of buckets) {
      // A sampled bucket's samples each stand for several observations.
      const w = b.seen / b.samples.length;
      for (const v of b.samples) weighted.push([v, w]);
      total += b.seen;
    }
    if (weighted.length === 0) return this.opts.quantiles.map(() => NaN);
    weighted.sort((a, b) => a[0] - b[0]);
    return this.opts.quantiles.map((q) => {
      const rank = q * total;
      let acc = 0;
      for (const [v, w] of weighted) {
        acc += w;
        if (acc >= rank) return v;
      }
      return weighted[weighted.length - 1][0];
    });
  }
}
