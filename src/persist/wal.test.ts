import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { MetricFamily, Timestamp } from '../model.js';
import { encodeProtobufDelimited } from '../expose/protobuf.js';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import { parseTextBytes } from '../parse/text.js';
import { MemoryStore } from '../store/memory.js';
import type { MetricStore } from '../store/types.js';
import { encodeLine } from './codec.js';
import { DurableStore, PersistenceError } from './durable.js';
import { readSnapshot } from './snapshot.js';
import { readSegment, segmentPath, WalError } from './wal.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-wal-'));
const log = pino({ level: 'silent' });
const options = (file: string, startEmptyOnError = false) => ({
  file,
  intervalMs: 3_600_000,
  sync: true,
  startEmptyOnError,
  log,
});

const ts: Timestamp = { seconds: 1700000000, nanos: 123 };
/** Everything a protobuf push can carry that the text format cannot, so the store keeps it parsed. */
const rich: MetricFamily[] = [
  {
    name: 'native',
    help: 'a native histogram',
    type: 'histogram',
    unit: 'seconds',
    metrics: [
      {
        labels: [{ name: 'a', value: 'b' }],
        histogram: {
          sampleCount: 4,
          sampleSum: 1.5,
          buckets: [
            {
              upperBound: 1,
              cumulativeCount: 2,
              exemplar: { labels: [{ name: 'trace_id', value: 't1' }], value: 0.5, timestamp: ts },
            },
            { upperBound: Infinity, cumulativeCount: 0, cumulativeCountFloat: 4.5, unset: ['cumulativeCount'] },
          ],
          schema: 3,
          zeroThreshold: 1e-128,
          zeroCount: 1,
          negativeSpans: [{ offset: -2, length: 1 }],
          negativeDeltas: [1],
          positiveSpans: [{ offset: 0, length: 2 }],
          positiveDeltas: [1, -1],
          createdTimestamp: ts,
          exemplars: [{ labels: [], value: 1, timestamp: ts }],
        },
      },
    ],
  },
  {
    name: 'floaty',
    type: 'gaugehistogram',
    metrics: [
      {
        labels: [],
        histogram: {
          sampleCount: 0,
          sampleSum: 0,
          sampleCountFloat: 2.5,
          buckets: [],
          schema: 0,
          zeroCountFloat: 0.5,
          positiveSpans: [{ offset: 1, length: 2 }],
          positiveCounts: [1.5, 1],
        },
      },
    ],
  },
  {
    name: 'quantiles',
    type: 'summary',
    metrics: [
      {
        labels: [],
        summary: {
          sampleCount: 1,
          sampleSum: NaN,
          quantiles: [
            { quantile: 0.5, value: -Infinity },
            { quantile: 0, value: 0, unset: ['value'] },
          ],
          createdTimestamp: ts,
        },
      },
    ],
  },
  {
    name: 'counted',
    type: 'counter',
    metrics: [
      {
        labels: [],
        value: 1,
        counter: {
          value: 1,
          exemplar: { labels: [{ name: 'x', value: 'y' }], value: 1, unset: ['value'] },
          createdTimestamp: ts,
        },
      },
    ],
  },
  {
    name: 'odd_type',
    type: 'untyped',
    typeNumber: 9,
    metrics: [{ labels: [{ name: '', value: 'v', unset: ['name'] }], gauge: { value: -0 }, untyped: {} }],
  },
];

const text =
  '# HELP t_total help\n# TYPE t_total counter\nt_total{a="1"} 1\nt_total{a="2"} NaN\n' +
  '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';

/** A text push, as push.ts hands it to the store. */
function push(store: MetricStore, labels: Record<string, string>, body: string, timestampMs: number, replace = true) {
  return store.write({ labels, families: parseTextBytes(Buffer.from(body)), replace, check: true, timestampMs });
}

/** What a store holds, comparable with deepEqual. */
function dump(store: MetricStore) {
  return [...store.groups()]
    .map((g) => ({
      labels: g.labels,
      families: [...g.families.values()].map((sf) => ({ family: sf.unpack(), timestampMs: sf.timestampMs })),
    }))
    .sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

test('a log of every kind of record, rich families included, replays to the same store', async () => {
  const file = path.join(dir, 'valid.data');
  const store = await DurableStore.open(new MemoryStore(), options(file));
  await push(store, { job: 'gone' }, 'g 1\n', 1700000000000.25);
  await store.wipe();
  await push(store, { job: 'text', instance: 'i' }, text, 1700000001000.5);
  const parsed = parseProtobufDelimited(encodeProtobufDelimited(rich));
  const labels = { job: 'pb', 'utf-8 ü': '"\n' };
  await store.write({ labels, families: parsed, replace: false, check: false, timestampMs: 1700000002000 });
  // Refused (a timestamp), and logged as failed: the group's failure time is set on replay too.
  const failed = await push(store, { job: 'text', instance: 'i' }, 't_total 1 123\n', 1700000003000, false);
  assert.equal(failed.ok, false);
  await push(store, { job: 'deleted' }, 'd 1\n', 1700000004000);
  await store.delete({ job: 'deleted' });

  const segment = segmentPath(file, 1);
  const raw = readFileSync(segment, 'utf8');
  const covered = ['negativeSpans', 'positiveCounts', 'exemplars', 'createdTimestamp', 'typeNumber', '"unit"'];
  for (const field of covered) {
    assert.ok(raw.includes(field), `the log holds ${field}: the test covers it`);
  }
  assert.ok(raw.includes('"unset"') && raw.includes('"$n"'), 'and fields left out, and a number JSON cannot hold');
  const records = await readSegment(segment);
  const kinds = records.map((r) => Object.keys(r)[0]);
  // A wipe is logged as the deletes of the groups it removed (the store announces each).
  assert.deepEqual(kinds, ['write', 'delete', 'write', 'write', 'write', 'write', 'delete']);

  const again = await DurableStore.open(new MemoryStore(), options(file));
  assert.deepEqual(dump(again), dump(store));
  assert.equal(again.groupCount, 2);

  // The snapshot a clean stop writes holds the rich families parsed: read back, they pass its checks.
  await store.close();
  assert.equal(existsSync(segment), false);
  let native = false;
  await readSnapshot(file, (g) => (native ||= g.families.some((fr) => 'family' in fr && fr.family.name === 'native')));
  assert.ok(native);
  const third = await DurableStore.open(new MemoryStore(), options(file));
  assert.deepEqual(dump(third), dump(store));
});

const good = encodeLine({ delete: { job: 'a' } });
const write = (change: (w: Record<string, unknown>) => void, ok: unknown = true) => {
  const w: Record<string, unknown> = {
    labels: { job: 'j' },
    families: [{ name: 'm', type: 'gauge', metrics: [{ labels: [{ name: 'l', value: 'v' }], value: 1 }] }],
    replace: true,
    check: true,
    timestampMs: 1700000000000.5,
  };
  change(w);
  return JSON.stringify({ write: w, ok });
};
const family = (change: (f: Record<string, unknown>) => void) =>
  write((w) => change((w.families as Array<Record<string, unknown>>)[0]));
const metric = (change: (m: Record<string, unknown>) => void) =>
  family((f) => change((f.metrics as Array<Record<string, unknown>>)[0]));

/** Damaged second lines of a segment, and what the error must say of them. */
const damaged: Array<[string, string, RegExp]> = [
  [
    'an unknown kind',
    '{"truncate":{"job":"a"}}',
    /unknown record kind \(fields "truncate"; expected write, delete or wipe\)/,
  ],
  ['an empty object', '{}', /unknown record kind \(no fields;/],
  ['two kinds in one', '{"delete":{"job":"a"},"wipe":true}', /a record of more than one kind \(delete and wipe\)/],
  ['an array (valid JSON, not an object)', '[{"wipe":true}]', /\): expected an object, got an array/],
  ['a string', '"wipe"', /\): expected an object, got a string/],
  ['a number', '42', /\): expected an object, got 42/],
  ['null', 'null', /\): expected an object, got null/],
  ['a wipe that is not true', '{"wipe":false}', /wipe: expected one of true, got false/],
  ['a field beside the kind', '{"wipe":true,"all":1}', /\): unexpected field "all"/],
  [
    'delete labels as a string',
    '{"delete":"job=a"}',
    /delete: expected an object of label names and values, got a string/,
  ],
  ['a label value that is a number', '{"delete":{"job":"a","x":1}}', /delete\["x"\]: expected a string, got 1/],
  ['labels without job', '{"delete":{"instance":"a"}}', /delete: no job label/],
  ['a write without ok', write(() => undefined).replace(',"ok":true', ''), /\): ok: missing/],
  ['ok as a string', write(() => undefined, 'yes'), /ok: expected true or false, got a string/],
  ['a write without replace', write((w) => delete w.replace), /write\.replace: missing/],
  ['check as a number', write((w) => (w.check = 1)), /write\.check: expected true or false, got 1/],
  [
    'timestampMs as a string',
    write((w) => (w.timestampMs = '1700000000000')),
    /write\.timestampMs: expected a finite number, got a string/,
  ],
  [
    'timestampMs NaN',
    write((w) => (w.timestampMs = { $n: 'NaN' })),
    /write\.timestampMs: expected a finite number, got NaN/,
  ],
  ['write labels without job', write((w) => (w.labels = { instance: 'x' })), /write\.labels: no job label/],
  ['families as an object', write((w) => (w.families = {})), /write\.families: expected an array, got an object/],
  ['an unexpected write field', write((w) => (w.extra = true)), /write: unexpected field "extra"/],
  ['a family without a name', family((f) => delete f.name), /write\.families\[0\]\.name: missing/],
  [
    'a family of an unknown type',
    family((f) => (f.type = 'meter')),
    /write\.families\[0\]\.type: expected one of "counter", .*, got "meter"/,
  ],
  ['help as null', family((f) => (f.help = null)), /write\.families\[0\]\.help: expected a string, got null/],
  ['metrics missing', family((f) => delete f.metrics), /write\.families\[0\]\.metrics: missing/],
  [
    'a value as a string',
    metric((m) => (m.value = '1')),
    /write\.families\[0\]\.metrics\[0\]\.value: expected a number, got a string/,
  ],
  [
    'a label pair without value',
    metric((m) => (m.labels = [{ name: 'l' }])),
    /metrics\[0\]\.labels\[0\]\.value: missing/,
  ],
  ['a metric field unknown to the model', metric((m) => (m.valeu = 1)), /metrics\[0\]: unexpected field "valeu"/],
  [
    'a bucket without its bound',
    metric((m) => (m.histogram = { sampleCount: 1, sampleSum: 1, buckets: [{ cumulativeCount: 1 }] })),
    /metrics\[0\]\.histogram\.buckets\[0\]\.upperBound: missing/,
  ],
  [
    'quantiles not an array',
    metric((m) => (m.summary = { sampleCount: 1, sampleSum: 1, quantiles: 5 })),
    /summary\.quantiles: expected an array, got 5/,
  ],
  [
    'an unknown unset name',
    metric((m) => (m.labels = [{ name: '', value: 'v', unset: ['label'] }])),
    /labels\[0\]\.unset\[0\]: expected one of "name", "value", got "label"/,
  ],
  [
    'a bad exemplar timestamp',
    metric((m) => (m.counter = { exemplar: { labels: [], value: 1, timestamp: { seconds: '1' } } })),
    /counter\.exemplar\.timestamp\.seconds: expected a number/,
  ],
  ['not JSON', '{"delete":{"job":"a"', /damaged at line 2 \(byte \d+\): .*JSON/],
  ['an empty line', '', /an empty line/],
];

for (const [name, line, cause] of damaged) {
  test(`a log line with ${name} is refused, naming the file, line, byte and cause`, async () => {
    const file = path.join(dir, `bad-${name.replace(/\W/g, '_')}`);
    writeFileSync(file, good + line + '\n' + good);
    await assert.rejects(readSegment(file), (e: Error) => {
      assert.ok(e instanceof WalError);
      const head = `write-ahead log ${file} is damaged at line 2 (byte ${good.length}): `;
      assert.ok(e.message.startsWith(head), e.message);
      assert.match(e.message, cause);
      return true;
    });
  });
}

test('invalid UTF-8 inside a line is damage, not U+FFFD', async () => {
  const file = path.join(dir, 'utf8');
  const line = Buffer.concat([Buffer.from('{"delete":{"job":"'), Buffer.from([0xc3]), Buffer.from('"}}\n')]);
  writeFileSync(file, Buffer.concat([Buffer.from(good), line]));
  await assert.rejects(readSegment(file), /damaged at line 2 \(byte \d+\): invalid UTF-8/);
});

test('a torn last line is dropped; a whole one without its newline is kept, or refused when invalid', async () => {
  const file = path.join(dir, 'torn');
  const wipe = encodeLine({ wipe: true });
  for (let cut = 1; cut < wipe.length - 1; cut++) {
    writeFileSync(file, good + good + wipe.slice(0, cut));
    assert.deepEqual(await readSegment(file), [{ delete: { job: 'a' } }, { delete: { job: 'a' } }], `cut at ${cut}`);
  }
  writeFileSync(file, Buffer.concat([Buffer.from(good), Buffer.from('{"delete":{"job":"\xc3', 'latin1')]));
  assert.equal((await readSegment(file)).length, 1, 'torn inside a UTF-8 sequence');
  writeFileSync(file, good + wipe.slice(0, -1));
  assert.deepEqual(await readSegment(file), [{ delete: { job: 'a' } }, { wipe: true }]);
  writeFileSync(file, good + '{"wipe":false}');
  await assert.rejects(readSegment(file), /damaged at line 2 \(byte \d+\): wipe: expected one of true, got false/);
  writeFileSync(file, '');
  assert.deepEqual(await readSegment(file), []);
});

test('a log record of an unknown kind stops the start, wiping nothing; start-empty-on-error moves it', async () => {
  const file = path.join(dir, 'unknown.data');
  const first = await DurableStore.open(new MemoryStore(), options(file));
  await push(first, { job: 'kept' }, 'k 1\n', 1700000000000);
  await first.close();
  const before = readFileSync(file);
  // What an older build would have replayed as a wipe of the whole store.
  const segment = segmentPath(file, (await readSnapshot(file, () => undefined))!.walSegment);
  writeFileSync(segment, good + '{"truncate":{"job":"kept"}}\n');

  await assert.rejects(DurableStore.open(new MemoryStore(), options(file)), (e: Error) => {
    assert.ok(e instanceof PersistenceError);
    assert.match(e.message, /is damaged at line 2 \(byte \d+\): unknown record kind .*; refusing to start/);
    assert.ok(e.message.includes(segment));
    return true;
  });
  assert.ok(readFileSync(file).equals(before), 'a refused start leaves the snapshot alone');

  const empty = await DurableStore.open(new MemoryStore(), options(file, true));
  assert.equal(empty.groupCount, 0);
  assert.ok(readdirSync(dir).some((n) => n.startsWith(`${path.basename(segment)}.damaged.`)));
  await empty.close();
});
