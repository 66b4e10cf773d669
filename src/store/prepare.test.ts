// A small push is prepared at once (prepareNow: plain functions, no generators); a large one in
// steps (prepareSteps). Random pushes must get the same verdicts and packed text both ways, and
// the packed text must be what rendering the family gives (family.ts sortedLines, another path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../parse/text.js';
import { ConsistencyIndex } from './consistency.js';
import { sortedLines } from './family.js';
import { prepareNow, prepareSteps, type PreparedWrite } from './prepare.js';
import { runNow } from './slices.js';
import { unpack } from './compact.js';

/** A seeded PRNG (mulberry32): the same pushes on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES = ['0', '1', '-2.5', '1e+06', '123456789', '0.0001', '1e-05', 'NaN', '+Inf', '3.14159', '7'];

/** A random text body: families of every packable type, label sets from small pools (so that series
 * come unsorted, share sort keys under other label names, repeat), now and then a bad label name. */
function body(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  let out = '';
  const families = 1 + Math.floor(next() * 6);
  for (let f = 0; f < families; f++) {
    const type = pick(['gauge', 'counter', 'untyped', 'summary', 'histogram']);
    const name = `fam_${f}`;
    out += `# HELP ${name} Family ${f}.\n# TYPE ${name} ${type}\n`;
    const series = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 40));
    for (let s = 0; s < series; s++) {
      const labels: string[] = [];
      for (const ln of ['b', 'a', 'instance', 'zz', 'job']) {
        if (next() < 0.4) labels.push(`${ln}="${pick(['x', 'y', '', 'q\\"q', 'n\\nl'])}"`);
      }
      if (next() < 0.02) labels.push('__bad="1"');
      const set = labels.join(',');
      if (type === 'summary') {
        for (const q of ['0.5', '0.9']) out += `${name}{${set}${set ? ',' : ''}quantile="${q}"} ${pick(VALUES)}\n`;
        out += `${name}_sum{${set}} ${pick(VALUES)}\n${name}_count{${set}} ${Math.floor(next() * 100)}\n`;
      } else if (type === 'histogram') {
        let c = 0;
        for (const le of ['0.1', '1', '+Inf']) {
          c += Math.floor(next() * 10);
          out += `${name}_bucket{${set}${set ? ',' : ''}le="${le}"} ${c}\n`;
        }
        out += `${name}_sum{${set}} ${pick(VALUES)}\n${name}_count{${set}} ${c}\n`;
      } else {
        out += `${name}{${set}} ${pick(VALUES)}\n`;
      }
    }
  }
  return out;
}

/** What a prepared write decides, as plain data. */
function decided(w: PreparedWrite): unknown {
  return {
    timestamps: w.timestamps,
    families: w.families.map((pf) => ({ name: pf.mf.name, verdicts: pf.verdicts, packed: pf.packed })),
  };
}

test('prepareNow decides as prepareSteps does, and packs what rendering the family gives', () => {
  const next = rng(11);
  let packed = 0;
  let problems = 0;
  for (let round = 0; round < 300; round++) {
    const text = body(next);
    const labels: Record<string, string> = next() < 0.5 ? { job: 'j' } : { job: 'j', instance: 'i1' };
    const index = new ConsistencyIndex(() => false);
    const now = prepareNow(parseText(text), labels, index);
    for (const grain of [1, 3, Infinity]) {
      const steps = runNow(prepareSteps(parseText(text), labels, index, grain));
      assert.deepEqual(decided(steps), decided(now), `grain ${grain}:\n${text}`);
    }
    for (const pf of now.families) {
      if (pf.verdicts.problems.length > 0) problems++;
      if (pf.packed === undefined) continue;
      packed++;
      assert.equal(pf.packed.text, sortedLines(pf.mf), text);
      assert.deepEqual(unpack(pf.mf.name, pf.mf.help, pf.mf.type, pf.packed), pf.mf, text);
    }
  }
  // The pushes reach both outcomes (else the comparison proves little).
  assert.ok(packed > 500 && problems > 50, `${packed} packed, ${problems} with problems`);
});
