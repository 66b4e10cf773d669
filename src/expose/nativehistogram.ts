// Native histogram buckets as upstream Pushgateway (1.11) lists them in /api/v1/metrics:
// [boundaries, lower, upper, count] per non-empty bucket: negative buckets first (largest
// magnitude first), then the zero bucket, then the positive ones; boundaries 0 = (lower, upper],
// 1 = [lower, upper), 3 = [lower, upper]. Bounds follow Prometheus' model/histogram getBound.
import type { BucketSpan, Histogram } from '../model.js';
import { formatCount, formatGoFloat } from '../lib/gofloat.js';

// fracs[schema][i] is the fraction 2^(i/2^schema - 1) as Prometheus' table (exponentialBounds)
// holds it, so that bounds print as upstream prints them. That table is not correctly rounded:
// its schema-8 entries, which every lower schema samples, lie up to 4 ulps below the double
// nearest to the exact value. SCHEMA8_ULPS[i] - 4 is that distance for entry i; the nearest
// double itself is found with exact integers (Math.pow may be one ulp off).
const SCHEMA8_ULPS =
  '4444443444344444443244333333333344344434433344334433453344334433444444333322342344344434444344444443454434224433' +
  '4333443434223333343433223323343333333323232223224433443433223422332234332322332333123323221222122222221111001201' +
  '33233222231133222312332222012211';
const fracTables = new Map<number, number[]>();

function mantissaOf(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  return { m: (bits & ((1n << 52n) - 1n)) | (1n << 52n), e: exp - 1075 };
}

function fromMantissa(m: bigint, e: number): number {
  return Number(m) * 2 ** e;
}

/** The double nearest to 2^(i/n - 1), for 0 < i < n, n a power of two. */
function exactFrac(i: number, n: number): number {
  const { m: m0, e } = mantissaOf(Math.pow(2, i / n - 1));
  // t^n = 2^(i-n). m is right when (2m-1)·2^(e-1) <= t <= (2m+1)·2^(e-1), i.e. when
  // (2m-1)^n <= 2^S <= (2m+1)^n with S = i - n - (e-1)·n.
  const pow2S = 1n << BigInt(i - n - (e - 1) * n);
  const N = BigInt(n);
  let m = m0;
  for (let step = 0; step < 4; step++) {
    if ((2n * m - 1n) ** N > pow2S) m -= 1n;
    else if ((2n * m + 1n) ** N < pow2S) m += 1n;
    else break;
  }
  return fromMantissa(m, e);
}

/** `x` moved by `ulps` units in the last place (positive finite doubles). */
function shiftUlps(x: number, ulps: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(ulps));
  return view.getFloat64(0);
}

function fracs(schema: number): number[] {
  let t = fracTables.get(schema);
  if (t === undefined) {
    const n = 2 ** schema;
    t = [0.5];
    for (let i = 1; i < n; i++) {
      // Schemas above 8 are not in Prometheus' table: correctly rounded.
      t.push(
        schema > 8 ? exactFrac(i, n) : shiftUlps(exactFrac(i << (8 - schema), 256), schema8Ulps(i << (8 - schema))),
      );
    }
    fracTables.set(schema, t);
  }
  return t;
}

function schema8Ulps(i: number): number {
  return Number(SCHEMA8_ULPS[i]) - 4;
}

/** Upper bound of bucket `idx` (Prometheus' getBound). */
export function bucketBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    if (exp > 1024) return Infinity;
    return 2 ** exp;
  }
  const n = 2 ** schema;
  const fracIdx = ((idx % n) + n) % n;
  const frac = fracs(schema)[fracIdx];
  const exp = Math.floor(idx / n) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  if (exp > 1024) return Infinity;
  return frac * 2 ** exp;
}

/** Absolute counts with their bucket indexes, from spans and deltas (integer) or counts (float). */
function expand(
  spans: BucketSpan[] | undefined,
  values: number[] | undefined,
  deltas: boolean,
): Array<{ idx: number; count: number }> {
  const out: Array<{ idx: number; count: number }> = [];
  let idx = 0;
  let v = 0;
  let k = 0;
  // The first span's offset is the first index; later ones are gaps after the previous span.
  (spans ?? []).forEach((sp) => {
    idx += sp.offset;
    for (let j = 0; j < sp.length; j++) {
      const raw = values?.[k++] ?? 0;
      v = deltas ? v + raw : raw;
      out.push({ idx, count: v });
      idx++;
    }
  });
  return out;
}

export function isNativeHistogram(h: Histogram): boolean {
  return (h.negativeSpans?.length ?? 0) + (h.positiveSpans?.length ?? 0) > 0;
}

/** The `count` and `buckets` upstream shows for a native histogram. */
export function nativeHistogramJson(h: Histogram): { count: string; buckets: Array<[number, string, string, string]> } {
  const float = (h.sampleCountFloat ?? 0) > 0 || (h.zeroCountFloat ?? 0) > 0;
  const schema = h.schema ?? 0;
  const fmtCount = (c: number) => (float ? formatGoFloat(c) : formatCount(c));
  const buckets: Array<[number, string, string, string]> = [];
  const neg = expand(h.negativeSpans, float ? h.negativeCounts : h.negativeDeltas, !float).filter((b) => b.count !== 0);
  for (let i = neg.length - 1; i >= 0; i--) {
    const b = neg[i];
    buckets.push([
      1,
      formatGoFloat(-bucketBound(b.idx, schema)),
      formatGoFloat(-bucketBound(b.idx - 1, schema)),
      fmtCount(b.count),
    ]);
  }
  const zero = float ? (h.zeroCountFloat ?? 0) : (h.zeroCount ?? 0);
  const threshold = h.zeroThreshold ?? 0;
  if (zero !== 0) buckets.push([3, formatGoFloat(-threshold), formatGoFloat(threshold), fmtCount(zero)]);
  for (const b of expand(h.positiveSpans, float ? h.positiveCounts : h.positiveDeltas, !float)) {
    if (b.count !== 0)
      buckets.push([
        0,
        formatGoFloat(bucketBound(b.idx - 1, schema)),
        formatGoFloat(bucketBound(b.idx, schema)),
        fmtCount(b.count),
      ]);
  }
  return { count: fmtCount(float ? (h.sampleCountFloat ?? 0) : h.sampleCount), buckets };
}
