// In-process cost of a push without HTTP (issue #12): parse + store.write of one large text body,
// the longest turn the event loop waits meanwhile and the time spent in GC; and parse + write of a
// small body into a store of 1,000 groups, which must not get slower for the large one's sake.
// `node dist/bench/applycost.js [--series=250000] [--small=20000] [--rounds=3]`
import { parseTextBytes, parseTextBytesSliced } from '../src/parse/text.js';
import { MemoryStore } from '../src/store/memory.js';
import { bigBody } from './bigpush.js';
import { pushBody } from './gateways.js';
import { arg, gcPauses } from './standalone.js';

/** Runs `task` while a timer measures the longest gap between turns of the event loop. */
async function withLongestTurn<T>(task: () => Promise<T>): Promise<{ value: T; longestMs: number }> {
  let longestMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestMs = Math.max(longestMs, now - last);
    last = now;
  }, 1);
  try {
    const value = await task();
    longestMs = Math.max(longestMs, performance.now() - last);
    return { value, longestMs };
  } finally {
    clearInterval(timer);
  }
}

async function large(series: number): Promise<void> {
  const body = bigBody(series);
  const store = new MemoryStore();
  const labels = { job: 'bigpush' };
  global.gc?.();
  const gc0 = gcPauses.ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const families = await parseTextBytesSliced(body);
  const t1 = performance.now();
  const { value: result, longestMs } = await withLongestTurn(() =>
    store.write({ labels, families, replace: true, check: true }),
  );
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  if (!result.ok) throw new Error(result.error);
  await new Promise((resolve) => setImmediate(resolve)); // GC entries arrive in a later turn
  const gc = gcPauses.ms - gc0;
  // The sync parse, apart, for the per-series cost without the slicing.
  const t3 = performance.now();
  parseTextBytes(body);
  const t4 = performance.now();
  console.log(
    `large ${series}: parse(sliced) ${(t1 - t0).toFixed(0)} ms, write ${(t2 - t1).toFixed(0)} ms, ` +
      `longest turn in write ${longestMs.toFixed(0)} ms, GC ${gc.toFixed(0)} ms; parse(sync) ${(t4 - t3).toFixed(0)} ms; ` +
      `${(((t2 - t0) * 1000) / series).toFixed(2)} µs/series; CPU (all threads) ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
  );
}

async function small(pushes: number): Promise<void> {
  const store = new MemoryStore();
  const body = Buffer.from(pushBody(20));
  for (let g = 0; g < 1000; g++)
    await store.write({
      labels: { job: 'bench', instance: String(g) },
      families: parseTextBytes(body),
      replace: true,
      check: true,
    });
  global.gc?.();
  const gc0 = gcPauses.ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < pushes; i++) {
    const labels = { job: 'bench', instance: String((i * 7919) % 1000) };
    const r = await store.write({ labels, families: parseTextBytes(body), replace: true, check: true });
    if (!r.ok) throw new Error(r.error);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setImmediate(resolve));
  console.log(
    `small: ${pushes} pushes of 20 series to 1,000 groups: ${((ms * 1000) / pushes).toFixed(1)} µs/push, ` +
      `CPU ${((cpu.user + cpu.system) / pushes).toFixed(1)} µs/push, GC ${(gcPauses.ms - gc0).toFixed(0)} ms`,
  );
}

const rounds = arg('rounds', 3);
for (let r = 0; r < rounds; r++) {
  if (arg('small', 20_000) > 0) await small(arg('small', 20_000));
  await large(arg('series', 250_000));
}
