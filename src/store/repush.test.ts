import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTextBytes } from '../parse/text.js';
import { MemoryStore } from './memory.js';
import { shapeHash, Templates, valueSpans } from './repush.js';
import { prepareNow } from './prepare.js';
import { groupId, groupShape } from './grouping.js';
import type { ChangeRecord, GroupingLabels, TextBody, WriteResult } from './types.js';

/** A text body whose parses are counted: a write through the template does not parse it. */
class Body implements TextBody {
  static parses = 0;
  readonly text: Buffer;
  constructor(body: string) {
    this.text = Buffer.from(body);
  }
  parse() {
    Body.parses++;
    return Promise.resolve(parseTextBytes(this.text));
  }
}

/** What a group holds, as everything above the store can see it. */
function held(store: MemoryStore, labels: GroupingLabels) {
  const g = store.group(groupId(labels));
  if (g === undefined) return undefined;
  const families = [...g.families.values()]
    .map((sf) => ({
      name: sf.name,
      help: sf.help,
      type: sf.type,
      series: sf.seriesCount,
      at: sf.timestampMs,
      lines: sf.lines(),
      record: sf.record(),
      unpacked: sf.unpack(),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    families,
    push: g.pushTimeSeconds,
    failure: g.failureTimeSeconds,
    ok: g.lastPushSuccess,
    ttl: g.ttlMs,
    reason: g.lastFailureReason,
  };
}

/**
 * Two stores given the same pushes: `fast` as text bodies (through templates once a group's shape
 * repeats), `full` as parsed families (the full path always). They must agree on everything.
 */
class Twins {
  readonly fast = new MemoryStore();
  readonly full = new MemoryStore();
  readonly fastRecords: ChangeRecord[] = [];
  readonly fullRecords: ChangeRecord[] = [];
  private clock = 1_700_000_000_000.25;
  /** Writes that did not parse their body. */
  repushed = 0;

  constructor() {
    this.fast.subscribe((c) => c.record !== undefined && this.fastRecords.push(c.record));
    this.full.subscribe((c) => c.record !== undefined && this.fullRecords.push(c.record));
  }

  async push(labels: GroupingLabels, body: string, replace = true, ttlMs?: number): Promise<WriteResult | Error> {
    this.clock += 1000.5;
    const before = Body.parses;
    const req = { labels, replace, check: true, timestampMs: this.clock, ttlMs };
    const fast = await this.fast.write({ ...req, families: Promise.resolve(new Body(body)) }).catch((e: Error) => e);
    if (Body.parses === before) this.repushed++;
    const full = await this.full
      .write({ ...req, families: Promise.resolve().then(() => parseTextBytes(Buffer.from(body))) })
      .catch((e: Error) => e);
    assert.deepEqual(fast, full, `verdicts of ${JSON.stringify(body)}`);
    assert.deepEqual(held(this.fast, labels), held(this.full, labels), `stored from ${JSON.stringify(body)}`);
    // The change feed carries the same write (its families as the write-ahead log would encode them).
    assert.deepEqual(
      JSON.parse(JSON.stringify(this.fastRecords.at(-1))),
      JSON.parse(JSON.stringify(this.fullRecords.at(-1))),
      `records of ${JSON.stringify(body)}`,
    );
    return fast;
  }
}

const FLEET = (v: number[]) =>
  `# HELP jobs_total Jobs run.
# TYPE jobs_total counter
jobs_total{kind="backup"} ${v[0]}
jobs_total{kind="restore"} ${v[1]}
# TYPE temp gauge
temp ${v[2]}
# HELP lat Latency.
# TYPE lat histogram
lat_bucket{le="0.1"} ${v[3]}
lat_bucket{le="1"} ${v[4]}
lat_bucket{le="+Inf"} ${v[5]}
lat_sum ${v[6]}
lat_count ${v[5]}
# TYPE q summary
q{quantile="0.5"} ${v[7]}
q{quantile="0.9"} ${v[8]}
q_sum ${v[9]}
q_count ${v[10]}
`;

test('a push of the group last shape is stored through its template, as the full path stores it', async () => {
  const t = new Twins();
  const labels = { job: 'fleet', instance: 'host-1' };
  await t.push(labels, FLEET([1, 2, 3, 4, 5, 6, 7.5, 0.25, 0.5, 9, 10]));
  await t.push(labels, FLEET([2, 3, 4, 5, 6, 7, 8.5, 0.5, 0.75, 10, 11]));
  assert.equal(t.repushed, 0, 'the first two pushes of a shape take the full path');
  await t.push(labels, FLEET([3, 3, 1e-7, 6, 6, 8, 1e21, 0.5, Infinity, -1.5, 12]));
  await t.push(labels, FLEET([3, 3, 1e-7, 6, 6, 8, 1e21, 0.5, Infinity, -1.5, 12]));
  await t.push(labels, FLEET([4, 5, -2, 7, 8, 9, NaN, -Infinity, 1.25, 0, 13]));
  assert.equal(t.repushed, 3);
  // Another group of the same shape takes the template from its first push on.
  const other = { job: 'fleet', instance: 'host-2' };
  for (let k = 0; k < 3; k++) await t.push(other, FLEET([k, k, k, k, k, k, k, k, k, k, k]));
  assert.equal(t.repushed, 5);
});

test('values the full path could store otherwise, or not at all, take the full path', async () => {
  const t = new Twins();
  const labels = { job: 'j' };
  const body = (v: string[]) =>
    `# TYPE c counter\nc{a="x y"} ${v[0]}\n# TYPE h histogram\nh_bucket{le="1"} ${v[1]}\nh_bucket{le="+Inf"} ${v[2]}\nh_count ${v[2]}\n`;
  await t.push(labels, body(['1', '2', '3']));
  await t.push(labels, body(['1', '2', '3']));
  for (const v of [
    ['-0', '2', '3'], // -0 is stored as parsed objects (text shows it as 0)
    ['1', '2', '3.5'], // a count that is not whole
    ['1', '2', '9007199254740993'], // beyond 2^53
    ['1', '2', '-1'],
    ['1', '2', 'NaN'],
  ]) {
    const before = t.repushed;
    await t.push(labels, body(v));
    assert.equal(t.repushed, before, `full path for ${v}`);
    await t.push(labels, body(['1', '2', '3']));
  }
  // Not a number: the parse's error, and nothing stored (the group's template still serves).
  const bad = await t.push(labels, body(['1', 'x', '3']));
  assert.match(String(bad), /expected float as value, got "x"/);
  const before = t.repushed;
  await t.push(labels, body(['4', '5', '6']));
  assert.equal(t.repushed, before + 1);
  // Timestamps, a blank more, other HELP or labels: not the shape, the full path judges.
  for (const other of [
    body(['1 1700000000', '2', '3']),
    body(['1', ' 2', '3']),
    body(['1', '2', '3']).replace('x y', 'x z'),
    body(['1', '2', '3']).replace('# TYPE c', '# HELP c Jobs.\n# TYPE c'),
    body(['1', '2', '3']).trimEnd(),
  ]) {
    const n = t.repushed;
    await t.push(labels, other);
    assert.equal(t.repushed, n, JSON.stringify(other));
  }
});

test('PUT and POST templates serve only their own method; a POST keeps the other families', async () => {
  const t = new Twins();
  const labels = { job: 'm' };
  await t.push(labels, '# TYPE other gauge\nother 1\n');
  const body = (v: number) => `# TYPE a gauge\na ${v}\n`;
  await t.push(labels, body(1), false);
  await t.push(labels, body(2), false);
  await t.push(labels, body(3), false);
  assert.equal(t.repushed, 1);
  await t.push(labels, body(4), true); // a PUT of the same shape removes `other`
  assert.equal(t.repushed, 1);
  assert.equal(held(t.fast, labels)!.families.length, 3);
  await t.push(labels, body(5), true, 60_000);
  assert.equal(t.repushed, 2, 'the PUT built a template of its own');
  await t.push(labels, body(6), false);
  assert.equal(t.repushed, 2);
  assert.equal(held(t.fast, labels)!.ttl, 60_000);
});

test('grouping labels over series labels, escapes, UTF-8, comments and blanks: random shapes agree with the full path', async () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
  const labelValues = ['a', 'b c', 'q\\"uote', 'back\\\\slash', 'new\\nline', 'br}ace{', 'ü€', '', 'host-9'];
  const floats = ['0', '1', '2.5', '-3', '1e3', '1.5e-7', '+Inf', '-Inf', 'NaN', '123456789', '0.1', '7E2'];
  const counts = ['0', '1', '17', '1e3', '400'];
  const t = new Twins();
  for (let shape = 0; shape < 60; shape++) {
    const families: Array<(v: () => string, c: () => string) => string> = [];
    const nf = 1 + rnd(4);
    for (let f = 0; f < nf; f++) {
      const name = `f${shape}_${f}`;
      const type = pick(['counter', 'gauge', 'untyped', 'histogram', 'summary', undefined]);
      const help = rnd(2) === 0 ? `# HELP ${name} Help ${f} with "quotes" \\\\ and 1.5 digits.\n` : '';
      const series = Array.from({ length: 1 + rnd(3) }, (_, k) => {
        const pairs = [`k="${k}"`];
        if (rnd(3) === 0) pairs.push(`${pick(['instance', 'job', 'x'])}="${pick(labelValues)}"`);
        if (rnd(3) === 0) pairs.push(`y = "${pick(labelValues)}" `);
        return `{${pairs.join(',')}}`;
      });
      const sep = () => pick([' ', '\t', '  ']);
      families.push((v, c) => {
        let s =
          help + (type === undefined ? '' : `# TYPE ${name} ${type}\n`) + pick(['', '\n', '# a comment 12\n', '  \n']);
        for (const l of series) {
          const inner = l.slice(1, -1);
          if (type === 'histogram') {
            s += `${name}_bucket{${inner},le="0.5"}${sep()}${c()}\n`;
            if (rnd(2) === 0) s += `${name}_bucket{${inner},le="+Inf"} ${c()}\n`;
            if (rnd(2) === 0) s += `${name}_sum${l} ${v()}\n`;
            s += `${name}_count${l} ${c()}\n`;
          } else if (type === 'summary') {
            s += `${name}{${inner},quantile="0.5"} ${v()}\n${name}_count${l} ${c()}\n`;
            if (rnd(2) === 0) s += `${name}_sum${l}${sep()}${v()}\n`;
          } else s += `${pick(['', ' '])}${name}${pick(['', ' '])}${l}${sep()}${v()}\n`;
        }
        return s;
      });
    }
    // The shape's layout is drawn once: the same draws in the same order make the same bytes.
    const layoutSeed = seed;
    const render = (vs: readonly string[], cs: readonly string[]) => {
      const saved = seed;
      seed = layoutSeed;
      let i = 0;
      let j = 0;
      const out = families
        .map((f) =>
          f(
            () => vs[i++ % vs.length],
            () => cs[j++ % cs.length],
          ),
        )
        .join('');
      seed = saved;
      return out;
    };
    const labels: GroupingLabels =
      rnd(2) === 0 ? { job: `s${shape}` } : { job: `s${shape}`, instance: pick(['a', 'z', '']) };
    const first = [floats.map(() => pick(floats)), counts.map(() => pick(counts))] as const;
    for (let k = 0; k < 4; k++) {
      const vs = k < 2 ? first : ([floats.map(() => pick(floats)), counts.map(() => pick(counts))] as const);
      await t.push(labels, render(vs[0], vs[1]));
    }
  }
  assert.ok(t.repushed > 40, `${t.repushed} of 120 repeated shapes written through a template`);
});

test('valueSpans: the value of each sample line, past labels holding blanks, braces and quotes', () => {
  const src = '# HELP a 1 2\n  a{x="} 3",y="\\" 4"} 5\n\nb\t6\nc { z = "7" }  8\n';
  const spans = valueSpans(src);
  const values = [];
  for (let k = 0; k < spans.length; k += 2) values.push(src.slice(spans[k], spans[k + 1]));
  assert.deepEqual(values, ['5', '6', '8']);
});

test('Templates: built once a shape repeats, shared by the groups it fits, dropped with its last user', () => {
  const templates = new Templates();
  const body = (v: number) => `# TYPE a gauge\na{x="1"} ${v}\na{x="2"} ${v + 1}\n`;
  const fit = (v: number, labels: GroupingLabels, repeated = false) => {
    const src = body(v);
    const spans = valueSpans(src);
    const stored = prepareNow(parseTextBytes(Buffer.from(src)), labels, undefined).families;
    return templates.fit(src, spans, shapeHash(src, spans), labels, groupShape(labels), stored, true, repeated);
  };
  assert.equal(fit(1, { job: 'a' }), undefined, 'a shape seen once');
  const t = fit(2, { job: 'b' })!;
  assert.ok(t !== undefined, 'seen before: built');
  templates.use(t);
  assert.equal(fit(3, { job: 'c' }), t, 'shared');
  templates.use(t);
  const other = fit(4, { job: 'c', instance: 'i' })!;
  assert.ok(other !== undefined && other !== t, 'other grouping label names: a template of their own');
  templates.use(other);
  assert.equal(templates.size, 2);
  templates.release(t);
  templates.release(other);
  assert.equal(templates.size, 1, 'other had one user, t two');
  templates.release(t);
  assert.equal(templates.size, 0);
});

test('Templates: a shape no template could be made of twice in a row is not probed again for 10 s', () => {
  let now = 0;
  const templates = new Templates(() => now);
  const fit = (value: string, job: string) => {
    const src = `# TYPE a gauge\na ${value}\n`;
    const spans = valueSpans(src);
    const labels = { job };
    const stored = prepareNow(parseTextBytes(Buffer.from(src)), labels, undefined).families;
    return templates.fit(src, spans, shapeHash(src, spans), labels, groupShape(labels), stored, true, false);
  };
  assert.equal(fit('-0', 'a'), undefined, 'seen once');
  assert.equal(fit('-0', 'b'), undefined, '-0 stays parsed: no template');
  assert.equal(fit('-0', 'c'), undefined, 'failed once: probed again, and fails again');
  assert.equal(fit('1', 'd'), undefined, 'twice in a row: not probed again yet');
  now += 9_999;
  assert.equal(fit('1', 'e'), undefined);
  now += 1;
  assert.ok(fit('1', 'f') !== undefined, 'probed again after 10 s');
});

test('groups whose grouping label values sort their series otherwise get templates of their own', async () => {
  const t = new Twins();
  // {a="m"} and {z="n"} with instance=I: ["m", I, "j"] against [I, "j", "n"], so I decides the order.
  const body = (v: number, w: number) => `# TYPE a gauge\na{a="m"} ${v}\na{z="n"} ${w}\n`;
  await t.push({ instance: 'b', job: 'j' }, body(1, 2));
  await t.push({ instance: 'b', job: 'j' }, body(3, 4.5));
  // Equal values cannot tell the lines apart: the order of the series must.
  await t.push({ instance: 'z', job: 'j' }, body(7, 7));
  await t.push({ instance: 'z', job: 'j' }, body(30, 40));
  await t.push({ instance: 'z', job: 'j' }, body(40, 30));
  await t.push({ instance: 'b', job: 'j' }, body(4, 4.5));
  const lines = (instance: string) =>
    t.fast
      .group(groupId({ instance, job: 'j' }))!
      .families.get('a')!
      .lines();
  assert.match(lines('b'), /^a\{instance="b",job="j",z="n"\} 4\.5\n/);
  assert.match(lines('z'), /^a\{a="m",instance="z",job="j"\} 40\n/);
  assert.equal(t.repushed, 3);
});

test('a group deleted or expired drops its template; a restored one has none', async () => {
  const store = new MemoryStore();
  const labels = { job: 'd' };
  let clock = 1_700_000_000_000;
  const push = (v: number) =>
    store.write({
      labels,
      families: Promise.resolve(new Body(`a ${v}\n`)),
      replace: true,
      check: true,
      timestampMs: (clock += 1000),
    });
  const parses = () => Body.parses;
  await push(1);
  await push(2);
  let before = parses();
  await push(3);
  assert.equal(parses(), before, 'through the template');
  await store.delete(labels);
  before = parses();
  await push(4);
  assert.equal(parses(), before + 1, 'a new group: the full path');
  await push(5);
  assert.equal(parses(), before + 1, 'its template made anew (its last user had gone)');
  const record = store.group(groupId(labels))!.families.get('a')!.record();
  store.restore({ labels, families: [record] });
  before = parses();
  await push(6);
  assert.equal(parses(), before + 1);
});
