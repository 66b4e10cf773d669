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
      family: { name: 'x', type: 'gauge', help: 'h', metrics: [{ labels: [{ name: 'a', value: 'v"\n' }], value: NaN }, { labels: [], value: -0 }, { labels: [], value: -Infinity }] },
    },
  ],
};

test('codec keeps NaN, infinities and negative zero', () => {
  const back = decodeLine<GroupRecord>(encodeLine(group));
  const m = back.families[0].family.metrics;
  assert.ok(Number.isNaN(m[0].value));
  assert.ok(Object.is(m[1].value, -0));
  assert.equal(m[2].value, -Infinity);
  assert.deepEqual(back.labels, group.labels);
  assert.equal(back.families[0].timestampMs, 1700000000123.456);
});

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-snap-'));

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
  ['truncated mid-line', (t) => t.slice(0, t.length - 30), /damaged at line 3 \(byte \d+\): the file ends in the middle of a line/],
  ['truncated at a line end', (t) => t.split('\n').slice(0, 2).join('\n') + '\n', /damaged at line 3 \(byte \d+\): the file ends after 1 of 2 groups/],
  ['a flipped byte', (t) => t.replace('"labels"', '"labels\''), /damaged at line 2 \(byte \d+\):/],
  ['another format', (t) => t.replace('pushgateway-ts-snapshot', 'gob'), /damaged at line 1 \(byte 0\): not a pushgateway-ts-snapshot file/],
  ['a newer version', (t) => t.replace('"version":1', '"version":9'), /format version 9 is not supported/],
  ['empty', () => '', /damaged at line 1 \(byte 0\): the file is empty/],
  ['trailing garbage', (t) => t + 'junk\n', /damaged at line 5 \(byte \d+\): data after the end marker/],
];
for (const [name, damage, message] of damaged) {
  test(`a damaged snapshot names file, line and byte: ${name}`, async () => {
    const file = path.join(dir, `bad-${name.replace(/\W/g, '_')}.data`);
    await writeFileAtomically(file, encodeSnapshot([group, group], 0));
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
