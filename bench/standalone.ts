// What the standalone in-process measurements (applycost.ts, pushstages.ts) share.
import { PerformanceObserver } from 'node:perf_hooks';

/** A numeric `--name=value` argument. */
export function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 3));
}

/** Milliseconds of GC pauses so far in this process. */
export const gcPauses = { ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.ms += e.duration;
}).observe({ entryTypes: ['gc'] });
