// `npx tsc -p tsconfig.json && node dist/bench/protoenc.js [--runs=N] [--sets=1k,1m,mixed] [--old=FILE.js]`
//
// Time (wall and CPU, medians) and JS-heap allocation of the protobuf scrape encoder (encodeProtobufDelimited) on the
// families a scrape hands it: 1,000 groups × 20 series as the main benchmark pushes them, 50,000
// groups × 20 series (1M series), and 1,000 groups of histograms, summaries and native
// histograms. `--old` names another build of the encoder (any module exporting
// encodeProtobufDelimited) to compare with; both must give the same bytes. Allocation is what
// V8's sampling heap profiler sees for one encode, including objects already collected; the
// output buffer itself is outside the JS heap.
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metric, MetricFamily } from '../src/model.js';
import { encodeProtobufDelimited } from '../src/expose/protobuf.js';

type Encode = (families: readonly MetricFamily[]) => Uint8Array;

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

const groupLabels = (g: number) => [
  { name: 'instance', value: String(g) },
  { name: 'job', value: 'bench' },
];

/** What a scrape of `groups` groups of bench_gauge{series="s0".."s<series-1>"} encodes. */
function gaugeGroups(groups: number, series: number): MetricFamily[] {
  const metrics: Metric[] = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < series; i++) {
      metrics.push({ labels: [...groupLabels(g), { name: 'series', value: `s${i}` }], value: i + 0.5 });
    }
  }
  const push = (name: string, v: number): MetricFamily => ({
    name,
    help: `Last ${name} of a push.`,
    type: 'gauge',
    metrics: Array.from({ length: groups }, (_, g) => ({ labels: groupLabels(g), value: v })),
  });
  return [
    { name: 'bench_gauge', help: 'A benchmark gauge.', type: 'gauge', metrics },
    push('push_failure_time_seconds', 0),
    push('push_time_seconds', 1.7e9 + 0.123),
  ];
}

/** Per group: a classic histogram of 12 buckets, a summary of 3 quantiles, a native histogram. */
function mixedGroups(groups: number): MetricFamily[] {
  const hist: Metric[] = [];
  const sum: Metric[] = [];
  const nat: Metric[] = [];
  for (let g = 0; g < groups; g++) {
    const bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity];
    const buckets = bounds.map((upperBound, i) => ({ upperBound, cumulativeCount: g + i * 7 }));
    hist.push({ labels: groupLabels(g), histogram: { sampleCount: g + 77, sampleSum: g * 0.37, buckets } });
    const quantiles = [0.5, 0.9, 0.99].map((quantile) => ({ quantile, value: quantile * g }));
    sum.push({ labels: groupLabels(g), summary: { sampleCount: g, sampleSum: g * 1.5, quantiles } });
    nat.push({
      labels: groupLabels(g),
      histogram: {
        sampleCount: 100 + g,
        sampleSum: 12.5,
        buckets: [],
        schema: 3,
        zeroThreshold: 2.938735877055719e-39,
        zeroCount: 2,
        negativeSpans: [{ offset: -3, length: 2 }],
        negativeDeltas: [1, 2],
        positiveSpans: [
          { offset: 0, length: 4 },
          { offset: 2, length: 3 },
        ],
        positiveDeltas: [5, -1, 3, -2, 1, 0, -4],
      },
    });
  }
  return [
    { name: 'req_seconds', help: 'Request durations.', type: 'histogram', metrics: hist },
    { name: 'rpc_seconds', help: 'RPC durations.', type: 'summary', metrics: sum },
    { name: 'native_seconds', help: 'Native.', type: 'histogram', metrics: nat },
  ];
}

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

async function allocatedBytes(session: Session, run: () => void): Promise<number> {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  run();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const walk = (n: typeof profile.head): void => {
    total += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  return total;
}

async function measure(session: Session, encode: Encode, families: MetricFamily[], runs: number) {
  let bytes = 0;
  for (let i = 0; i < 2; i++) bytes = encode(families).length;
  const times: number[] = [];
  const cpus: number[] = [];
  const gc0 = gcMs;
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    encode(families);
    const dc = process.cpuUsage(c);
    cpus.push((dc.user + dc.system) / 1000);
    times.push(performance.now() - t);
  }
  await new Promise((r) => setTimeout(r, 50)); // lets the gc entries arrive
  const gcPerRun = (gcMs - gc0) / runs;
  const alloc = await allocatedBytes(session, () => encode(families));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const MiB = 2 ** 20;
  return { ms: median(times), cpuMs: median(cpus), gcMs: gcPerRun, allocMiB: alloc / MiB, bodyMiB: bytes / MiB };
}

async function main(): Promise<void> {
  const runs = Number(arg('runs') ?? 10);
  const sets = (arg('sets') ?? '1k,mixed,1m').split(',');
  const encoders: Array<[string, Encode]> = [['current', encodeProtobufDelimited]];
  const old = arg('old');
  if (old !== undefined) {
    const mod = (await import(pathToFileURL(path.resolve(old)).href)) as { encodeProtobufDelimited: Encode };
    encoders.push(['old', mod.encodeProtobufDelimited]);
  }
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  const builders: Record<string, () => MetricFamily[]> = {
    '1k': () => gaugeGroups(1000, 20),
    mixed: () => mixedGroups(1000),
    '1m': () => gaugeGroups(50_000, 20),
  };
  for (const set of sets) {
    const families = builders[set]();
    const series = families.reduce((n, f) => n + f.metrics.length, 0);
    if (encoders.length > 1) {
      const [a, b] = encoders.map(([, e]) => Buffer.from(e(families)));
      if (!a.equals(b)) throw new Error(`${set}: the encoders disagree`);
    }
    for (const [name, encode] of encoders) {
      const r = await measure(session, encode, families, set === '1m' ? Math.max(3, Math.ceil(runs / 3)) : runs);
      const fmt = (x: number) => x.toFixed(x < 10 ? 2 : 1);
      process.stdout.write(
        `${set.padEnd(6)} ${String(series).padStart(8)} series  ${name.padEnd(8)} ` +
          `${fmt(r.ms).padStart(7)} ms (cpu ${fmt(r.cpuMs)})  gc ${fmt(r.gcMs).padStart(6)} ms  ` +
          `allocated ${fmt(r.allocMiB).padStart(7)} MiB  body ${fmt(r.bodyMiB)} MiB\n`,
      );
    }
  }
  session.disconnect();
}

await main();
