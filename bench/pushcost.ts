// The CPU and the allocation of one small push, stage by stage (issue #11): the fleet body (24
// families, 44 series) into a store of 10,000 fleet groups, and a 20-series body into a store of
// 1,000 groups, each PUT to a random existing group as the bench's fleet and fixed-1k rows do.
// Load-independent figures: CPU time of this process (process.cpuUsage) per push, and bytes
// allocated per push (heap growth between two collections, valid only when no collection ran in
// between: run with a young generation that holds a whole batch, see below).
// CPU, with the gateway's node flags:
//   node --expose-gc --max-semi-space-size=4 --heap-growing-percent=20 --v8-pool-size=1 dist/bench/pushcost.js
// Allocation (KiB per push; a stage that saw a collection prints '?'):
//   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 dist/bench/pushcost.js --pushes=200
import { parseTextBytes } from '../src/parse/text.js';
import { overLimit } from '../src/http/push.js';
import { MemoryStore } from '../src/store/memory.js';
import { prepareNow } from '../src/store/prepare.js';
import { ConsistencyIndex } from '../src/store/consistency.js';
import { fleetBody } from './fleetbody.js';
import { pushBody } from './gateways.js';
import { arg } from './standalone.js';

const LIMITS = { maxBodyBytes: 64 << 20, maxSeries: 1_000_000, maxNameLength: 1024, maxLabelValueLength: 65536 };

interface Shape {
  name: string;
  groups: number;
  labels: (g: number) => Record<string, string>;
  body: (g: number) => Buffer;
}

const fixedBody = Buffer.from(pushBody(20));
const SHAPES: Shape[] = [
  {
    name: 'fleet (44 series, 24 families) → 10k groups',
    groups: 10_000,
    labels: (g) => ({ job: 'fleet', instance: `host-${g}` }),
    body: (g) => Buffer.from(fleetBody(g)),
  },
  {
    name: 'fixed (20 series, 1 family) → 1k groups',
    groups: 1000,
    labels: (g) => ({ job: 'bench', instance: String(g) }),
    body: () => fixedBody,
  },
];

let gcCount = 0;
const { PerformanceObserver } = await import('node:perf_hooks');
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

/** GC entries arrive in a later turn. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

interface Cost {
  us: number;
  kib: number | undefined;
}

/** Runs `task` for each of `n` pushes; CPU µs and KiB allocated per push. */
async function measure(n: number, task: (k: number) => unknown): Promise<Cost> {
  global.gc?.();
  await settle();
  const gc0 = gcCount;
  const h0 = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  for (let k = 0; k < n; k++) await task(k);
  const c = process.cpuUsage(c0);
  const h = process.memoryUsage().heapUsed - h0;
  await settle();
  return { us: (c.user + c.system) / n, kib: gcCount === gc0 ? h / 1024 / n : undefined };
}

async function shapeRound(shape: Shape, pushes: number, costs: Map<string, Cost[]>): Promise<void> {
  const store = new MemoryStore();
  const bodies = Array.from({ length: shape.groups }, (_, g) => shape.body(g));
  for (let g = 0; g < shape.groups; g++) {
    const r = await store.write({
      labels: shape.labels(g),
      families: parseTextBytes(bodies[g]),
      replace: true,
      check: true,
    });
    if (!r.ok) throw new Error(r.error);
  }
  // The same random targets for every stage.
  const targets = Array.from({ length: pushes }, () => Math.floor(Math.random() * shape.groups));
  const add = (stage: string, c: Cost) => {
    const key = `${shape.name}\u0000${stage}`;
    costs.set(key, [...(costs.get(key) ?? []), c]);
  };
  // Cumulative pipelines, each run on its own (nothing of a push outlives it but what the store
  // keeps, as in the gateway): a stage's cost is the difference to the one before.
  const index = new ConsistencyIndex(() => false);
  add('parse', await measure(pushes, (k) => parseTextBytes(bodies[targets[k]])));
  add(
    '+ limits',
    await measure(pushes, (k) => overLimit(parseTextBytes(bodies[targets[k]]), shape.labels(targets[k]), LIMITS)),
  );
  add(
    '+ prepare (sanitize, sort, checks, pack)',
    await measure(pushes, (k) => {
      const labels = shape.labels(targets[k]);
      const families = parseTextBytes(bodies[targets[k]]);
      if (overLimit(families, labels, LIMITS) !== undefined) throw new Error('over a limit');
      return prepareNow(families, labels, index);
    }),
  );
  add(
    'whole: parse + limits + store.write',
    await measure(pushes, async (k) => {
      const labels = shape.labels(targets[k]);
      const families = parseTextBytes(bodies[targets[k]]);
      if (overLimit(families, labels, LIMITS) !== undefined) throw new Error('over a limit');
      const r = await store.write({ labels, families, replace: true, check: true });
      if (!r.ok) throw new Error(r.error);
    }),
  );
}

const pushes = arg('pushes', 5000);
const rounds = arg('rounds', 3);
const costs = new Map<string, Cost[]>();
for (let r = 0; r < rounds; r++) for (const shape of SHAPES) await shapeRound(shape, pushes, costs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${pushes} pushes per stage, median of ${rounds} rounds: CPU µs per push, KiB allocated per push`);
let last = '';
for (const [key, list] of costs) {
  const [shape, stage] = key.split('\u0000');
  if (shape !== last) console.log(shape);
  last = shape;
  const us = median(list.map((c) => c.us));
  const kibs = list.map((c) => c.kib).filter((x): x is number => x !== undefined);
  const kib = kibs.length === 0 ? '?' : median(kibs).toFixed(1);
  console.log(`  ${stage.padEnd(44)} ${us.toFixed(1).padStart(7)} µs ${kib.padStart(7)} KiB`);
}
