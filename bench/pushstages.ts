// Where the CPU of one large push goes, stage by stage (issue #12): body read (chunks joined),
// parse, sanitize, sort, the push-only checks, pack, limits, and the rest of store.write (the
// check against the store and the commit), each run at once and timed with process.cpuUsage (CPU,
// not wall time: the machine is shared), with the GC time V8 reports during it. Then the whole
// path as the gateway runs it (sliced parse, sliced limits, sliced write) for the total, without
// and with the heap's growth step widened as a large push widens it.
// Run it with the gateway's node flags, which decide how much the GC costs:
// `node --expose-gc --max-semi-space-size=4 --heap-growing-percent=20 --v8-pool-size=1 \
//    dist/bench/pushstages.js [--series=250000] [--rounds=3]`
import type { MetricFamily } from '../src/model.js';
import { parseTextBytes, parseTextBytesSliced } from '../src/parse/text.js';
import { overLimit } from '../src/http/push.js';
import { MemoryStore } from '../src/store/memory.js';
import { ConsistencyIndex } from '../src/store/consistency.js';
import { mayPack, packSteps, seriesOrderSteps } from '../src/store/compact.js';
import { groupingPairs, sanitizeSeries } from '../src/store/grouping.js';
import { runNow } from '../src/store/slices.js';
import { heapRoom } from '../src/http/heaproom.js';
import { bigBody } from './bigpush.js';
import { arg, gcPauses } from './standalone.js';

/** GC entries arrive in a later turn. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

interface Cost {
  cpu: number;
  gc: number;
}

async function measure<T>(costs: Map<string, Cost[]>, stage: string, task: () => T | Promise<T>): Promise<T> {
  await settle();
  const gc0 = gcPauses.ms;
  const c0 = process.cpuUsage();
  const value = await task();
  const c = process.cpuUsage(c0);
  await settle();
  const list = costs.get(stage) ?? [];
  list.push({ cpu: (c.user + c.system) / 1000, gc: gcPauses.ms - gc0 });
  costs.set(stage, list);
  return value;
}

const labels = { job: 'bigpush' };
// The defaults of the --push.max-* flags.
const LIMITS = { maxBodyBytes: 64 << 20, maxSeries: 1_000_000, maxNameLength: 1024, maxLabelValueLength: 65536 };

async function round(body: Buffer, costs: Map<string, Cost[]>): Promise<void> {
  global.gc?.();
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += 65536) chunks.push(Buffer.from(body.subarray(i, i + 65536)));
  const raw = await measure(costs, 'body read (64 KiB chunks joined)', () => Buffer.concat(chunks));
  const families: MetricFamily[] = await measure(costs, 'parse', () => parseTextBytes(raw));
  await measure(costs, 'limits', () => overLimit(families, labels, LIMITS));
  const grouping = groupingPairs(labels);
  await measure(costs, 'sanitize', () => {
    for (const mf of families) sanitizeSeries(mf.metrics, 0, mf.metrics.length, grouping);
  });
  const orders = await measure(costs, 'sort', () => families.map((mf) => runNow(seriesOrderSteps(mf.metrics, 512))));
  const index = new ConsistencyIndex(() => false);
  await measure(costs, 'push-only checks', () =>
    families.map((mf, k) => runNow(index.verdictSteps(mf, orders[k], 512))),
  );
  const packed = await measure(costs, 'pack', () =>
    families.map((mf, k) => (mayPack(mf) ? runNow(packSteps(mf, orders[k], 512)) : undefined)),
  );
  if (packed.some((p) => p === undefined)) throw new Error('a family was not packed');
  // The rest: store.write of families sanitized already prepares them again; measured as the
  // whole write minus the stages above, from a fresh parse.
  const fresh = parseTextBytes(raw);
  const store = new MemoryStore();
  const all = await measure(costs, 'store.write (sanitize … commit, sliced)', () =>
    store.write({ labels, families: fresh, replace: true, check: true }),
  );
  if (!all.ok) throw new Error(all.error);
  for (const widened of [false, true]) {
    global.gc?.();
    const store2 = new MemoryStore();
    const room = heapRoom.lease();
    const what = widened ? 'heap growth widened (http/heaproom.ts)' : 'heap growth as started';
    await measure(costs, `whole path, ${what}`, async () => {
      if (widened) room.widen();
      try {
        const f = await parseTextBytesSliced(raw);
        overLimit(f, labels, LIMITS);
        const r = await store2.write({ labels, families: f, replace: true, check: true });
        if (!r.ok) throw new Error(r.error);
      } finally {
        room.release();
      }
    });
  }
}

const series = arg('series', 250_000);
const rounds = arg('rounds', 3);
const body = bigBody(series);
const costs = new Map<string, Cost[]>();
for (let r = 0; r < rounds; r++) await round(body, costs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${series} series, ${(body.length / 1048576).toFixed(1)} MiB, median of ${rounds} rounds (CPU ms, GC ms)`);
for (const [stage, list] of costs) {
  const cpu = median(list.map((c) => c.cpu));
  const gc = median(list.map((c) => c.gc));
  console.log(
    `  ${stage.padEnd(56)} CPU ${cpu.toFixed(0).padStart(6)} ms ${((cpu * 1000) / series).toFixed(2).padStart(6)} µs/series  GC ${gc.toFixed(0).padStart(5)} ms`,
  );
}
