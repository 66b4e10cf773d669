import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeLine, encodeLine, type GroupRecord } from './codec.js';
import { encodeSnapshot, readSnapshot, writeFileAtomically } from './snapshot.js';
import { readSegment } from './wal.js';

const group: GroupRecord = {
  labels: { job: 'j', instance: 'i' },
  families: [
    {
      timestampMs: 1700000000123.456,
      family: {
        name: 'x',
        type: 'gauge',
        help: 'h',
        metrics: [
          { labels: [{ name: 'a', value: 'v"\n' }], value: NaN },
          { labels: [], value: -0 },
          { labels: [], value: -Infinity },
        ],
      },
    },
  ],
};

test('codec keeps NaN, infinities and negative zero', () => {
  const back = decodeLine<GroupRecord>(encodeLine(group));
  const fr = back.families[0];
  assert.ok('family' in fr);
  const m = fr.family.metrics;
  assert.ok(Number.isNaN(m[0].value));
  assert.ok(Object.is(m[1].value, -0));
  assert.equal(m[2].value, -Infinity);
  assert.deepEqual(back.labels, group.labels);
  assert.equal(back.families[0].timestampMs, 1700000000123.456);
});

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-snap-'));

const packed: GroupRecord = {
  labels: { job: 'p' },
  families: [
    {
      timestampMs: 1,
      packed: {
        name: 'x',
        help: 'h',
        type: 'gauge',
        series: 2,
        text: 'x{job="p",s="a"} 1.5\nx{job="p",s="ü"} 2\n',
        order: '\u0001\u0000',
      },
    },
  ],
};

test('a version 2 snapshot keeps packed families exactly; a version 1 file is still read', async () => {
  const file = path.join(dir, 'v2.data');
  await writeFileAtomically(file, encodeSnapshot([packed], 0));
  assert.deepEqual((await readSnapshot(file))?.groups, [packed]);
  const v1 = path.join(dir, 'v1.data');
  const lines = [
    encodeLine({ format: 'pushgateway-ts-snapshot', version: 1, walSegment: 0, groups: 1, writtenAt: '' }),
    encodeLine(group),
    encodeLine({ end: 1 }),
  ];
  writeFileSync(v1, lines.join(''));
  assert.deepEqual(
    (await readSnapshot(v1))?.groups.map((g) => g.labels),
    [group.labels],
  );
});

test('a written snapshot reads back', async () => {
  const file = path.join(dir, 'ok.data');
  await writeFileAtomically(file, encodeSnapshot([group, { ...group, labels: { job: 'k' } }], 7));
  const snap = await readSnapshot(file);
  assert.equal(snap?.header.walSegment, 7);
  assert.equal(snap?.groups.length, 2);
  assert.deepEqual(snap?.groups[1].labels, { job: 'k' });
});

test('a missing snapshot is no error', async () => {
  assert.equal(await readSnapshot(path.join(dir, 'none.data')), undefined);
});

const damaged: Array<[string, (text: string) => string, RegExp]> = [
  [
    'truncated mid-line',
    (t) => t.slice(0, t.length - 30),
    /damaged at line 3 \(byte \d+\): the file ends in the middle of a line/,
  ],
  [
    'truncated at a line end',
    (t) => t.split('\n').slice(0, 2).join('\n') + '\n',
    /damaged at line 3 \(byte \d+\): the file ends after 1 of 2 groups/,
  ],
  ['a flipped byte', (t) => t.replace('"labels"', '"labels\''), /damaged at line 2 \(byte \d+\):/],
  [
    'another format',
    (t) => t.replace('pushgateway-ts-snapshot', 'gob'),
    /damaged at line 1 \(byte 0\): not a pushgateway-ts-snapshot file/,
  ],
  ['a newer version', (t) => t.replace('"version":2', '"version":9'), /format version 9 is not supported/],
  [
    'a changed digit inside packed text (valid JSON)',
    (t) => t.replace('} 1.5\\n', '} 7.5\\n'),
    /damaged at line 4 \(byte \d+\): checksum mismatch/,
  ],
  [
    'a packed family without its text',
    (t) => t.replace('"text":', '"txet":'),
    /damaged at line 3 \(byte \d+\): families\[0\]\.packed\.text: missing/,
  ],
  ['empty', () => '', /damaged at line 1 \(byte 0\): the file is empty/],
  [
    'a parsed family of an unknown type (valid JSON)',
    (t) => t.replace('"type":"gauge"', '"type":"gauge2"'),
    /damaged at line 2 \(byte \d+\): families\[0\]\.family\.type: expected one of "counter", .*, got "gauge2"/,
  ],
  ['a group that is a number', (t) => t.replace(/\n.*\n/, '\n5\n'), /line 2 \(byte \d+\): expected an object, got 5/],
  ['a header that is null', (t) => 'null' + t.slice(t.indexOf('\n')), /line 1 \(byte 0\): not a pushgateway-ts/],
  ['trailing garbage', (t) => t + 'junk\n', /damaged at line 5 \(byte \d+\): data after the end marker/],
];
for (const [name, damage, message] of damaged) {
  test(`a damaged snapshot names file, line and byte: ${name}`, async () => {
    const file = path.join(dir, `bad-${name.replace(/\W/g, '_')}.data`);
    await writeFileAtomically(file, encodeSnapshot([group, packed], 0));
    writeFileSync(file, damage(readFileSync(file, 'utf8')));
    await assert.rejects(readSnapshot(file), (e: Error) => {
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('a torn last log line is dropped, damage before it is an error', async () => {
  const file = path.join(dir, 'seg');
  const rec = encodeLine({ delete: { job: 'a' } });
  writeFileSync(file, rec + rec + rec.slice(0, 10));
  assert.equal((await readSegment(file)).length, 2);
  writeFileSync(file, rec + rec.slice(0, 10) + '\n' + rec);
  await assert.rejects(readSegment(file), /write-ahead log .* is damaged at line 2 \(byte \d+\)/);
});
