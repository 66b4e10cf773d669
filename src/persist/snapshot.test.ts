import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { parseTextBytes } from '../parse/text.js';
import { MemoryStore } from '../store/memory.js';
import { decodeLine, encodeLine, type GroupRecord } from './codec.js';
import { freezeGroups, readSnapshot, writeSnapshot, type SnapshotHeader } from './snapshot.js';
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
        text: 'x{job="p",s="a"} 1.5\nx{job="p",s="\u00c3\u00bc"} 2\n',
        order: '\u0001\u0000',
      },
    },
  ],
};

/** Records written as they are (the store's freezing is tested with a store below). */
const asIs = (records: GroupRecord[]) => ({ groups: records.map((r) => ({ record: () => r })), takenAt: new Date() });

async function read(file: string): Promise<{ header: SnapshotHeader | undefined; groups: GroupRecord[] }> {
  const groups: GroupRecord[] = [];
  const header = await readSnapshot(file, (g) => groups.push(g));
  return { header, groups };
}

/** A file of plain lines as versions 1 and 2 were written (2: with the checksum). */
function plainFile(version: 1 | 2, records: GroupRecord[]): string {
  const lines = [
    encodeLine({ format: 'pushgateway-ts-snapshot', version, walSegment: 0, groups: records.length, writtenAt: '' }),
    ...records.map((r) => encodeLine(r)),
  ];
  const crc = lines.reduce((c, l) => crc32(l, c), 0);
  return lines.join('') + encodeLine(version === 1 ? { end: records.length } : { end: records.length, crc32: crc });
}

test('a snapshot is written gzip-compressed and reads back exactly, special numbers and packed text included', async () => {
  const file = path.join(dir, 'v3.data');
  await writeSnapshot(file, asIs([group, packed]), 7);
  const bytes = readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b]);
  const { header, groups } = await read(file);
  assert.equal(header?.version, 4);
  assert.equal(header?.walSegment, 7);
  assert.deepEqual(groups, [group, packed]);
});

// Byte for byte what the previous build (version 2) wrote for one group pushed as
// `up{s="b"} 2` and `up{s="ä"} NaN` with the HELP "Ü help".
const VERSION_2_FILE = [
  '{"format":"pushgateway-ts-snapshot","version":2,"walSegment":4,"groups":1,"writtenAt":"2026-12-06T04:03:00.007Z"}',
  '{"labels":{"instance":"i1","job":"old"},"families":[{"packed":{"name":"up","type":"gauge","series":2,"text":"up{' +
    'instance=\\"i1\\",job=\\"old\\",s=\\"b\\"} 2\\nup{instance=\\"i1\\",job=\\"old\\",s=\\"\u00c3\u00a4\\"} NaN\\n",' +
    '"help":"\u00dc help"},"timestampMs":1764979200123.5},{"family":{"name":"push_time_seconds","help":"Last Unix time ' +
    'when changing this group in the Pushgateway succeeded.","type":"gauge","metrics":[{"labels":[{"name":"instance",' +
    '"value":"i1"},{"name":"job","value":"old"}],"value":1764979200.1235}]},"timestampMs":1764979200123.5},{"family":' +
    '{"name":"push_failure_time_seconds","help":"Last Unix time when changing this group in the Pushgateway failed.",' +
    '"type":"gauge","metrics":[{"labels":[{"name":"instance","value":"i1"},{"name":"job","value":"old"}],"value":0}]},' +
    '"timestampMs":1764979200123.5}]}',
  '{"end":1,"crc32":239771551}',
  '',
].join('\n');

test('a version 2 file written by the previous build restores into the store', async () => {
  const file = path.join(dir, 'v2-old-build.data');
  writeFileSync(file, VERSION_2_FILE);
  const store = new MemoryStore();
  const header = await readSnapshot(file, (g) => store.restore(g));
  assert.equal(header?.version, 2);
  assert.equal(header?.walSegment, 4);
  const g = [...store.groups()][0];
  assert.deepEqual(g.labels, { instance: 'i1', job: 'old' });
  assert.equal(g.pushTimeSeconds, 1764979200.1235);
  const up = g.families.get('up')!;
  assert.equal(up.help, '\u00dc help');
  assert.equal(
    Buffer.from(up.lines(), 'latin1').toString('utf8').split('\n')[1],
    'up{instance="i1",job="old",s="ä"} NaN',
  );
});

test('version 1 and 2 files of plain lines are still read', async () => {
  for (const version of [1, 2] as const) {
    const file = path.join(dir, `v${version}.data`);
    writeFileSync(file, plainFile(version, [group, packed]));
    const { header, groups } = await read(file);
    assert.equal(header?.version, version);
    assert.deepEqual(groups, [group, packed]);
  }
});

test('a snapshot holds the groups as they were when frozen, not as later writes left them', async () => {
  const store = new MemoryStore();
  const push = (value: number, timestampMs: number) =>
    store.write({
      labels: { job: 'j' },
      families: parseTextBytes(Buffer.from(`# TYPE m gauge\nm ${value}\n`)),
      replace: true,
      check: true,
      timestampMs,
    });
  await push(1, 1_000);
  const frozen = freezeGroups(store.groups());
  await push(2, 2_000);
  const file = path.join(dir, 'frozen.data');
  await writeSnapshot(file, frozen, 0);
  const back = new MemoryStore();
  const header = await readSnapshot(file, (g) => back.restore(g));
  // Writes acknowledged before writtenAt are in, none after: it is the moment of the freeze.
  assert.equal(header?.writtenAt, frozen.takenAt.toISOString());
  const g = [...back.groups()][0];
  assert.equal(g.families.get('m')?.lines(), 'm{instance="",job="j"} 1\n');
  assert.equal(g.pushTimeSeconds, 1);
  assert.equal(g.families.get('push_time_seconds')?.timestampMs, 1_000);
});

test('a missing snapshot is no error', async () => {
  assert.equal(await readSnapshot(path.join(dir, 'none.data'), () => assert.fail('no group')), undefined);
});

const damaged: Array<[string, (text: string) => string, RegExp]> = [
  [
    'truncated mid-line',
    (t) => t.slice(0, t.length - 30),
    /damaged at line 3 \(byte \d+.*\): the file ends in the middle of a line/,
  ],
  [
    'truncated at a line end',
    (t) => t.split('\n').slice(0, 2).join('\n') + '\n',
    /damaged at line 3 \(byte \d+.*\): the file ends after 1 of 2 groups/,
  ],
  ['a flipped byte', (t) => t.replace('"labels"', '"labels\''), /damaged at line 2 \(byte \d+.*\):/],
  [
    'another format',
    (t) => t.replace('pushgateway-ts-snapshot', 'gob'),
    /damaged at line 1 \(byte 0.*\): not a pushgateway-ts-snapshot file/,
  ],
  [
    'a newer version',
    (t) => t.replace(/"version":\d/, '"version":9'),
    /format version 9 is not supported \(this build reads 1, 2, 3 and 4\)/,
  ],
  [
    'a changed digit inside packed text (valid JSON)',
    (t) => t.replace('} 1.5\\n', '} 7.5\\n'),
    /damaged at line 4 \(byte \d+.*\): checksum mismatch/,
  ],
  [
    'a packed family without its text',
    (t) => t.replace('"text":', '"txet":'),
    /damaged at line 3 \(byte \d+.*\): families\[0\]\.packed\.text: missing/,
  ],
  ['empty', () => '', /damaged at line 1 \(byte 0.*\): the file is empty/],
  [
    'a parsed family of an unknown type (valid JSON)',
    (t) => t.replace('"type":"gauge"', '"type":"gauge2"'),
    /damaged at line 2 \(byte \d+.*\): families\[0\]\.family\.type: expected one of "counter", .*, got "gauge2"/,
  ],
  ['a group that is a number', (t) => t.replace(/\n.*\n/, '\n5\n'), /line 2 \(byte \d+.*\): expected an object, got 5/],
  ['a header that is null', (t) => 'null' + t.slice(t.indexOf('\n')), /line 1 \(byte 0.*\): not a pushgateway-ts/],
  ['trailing garbage', (t) => t + 'junk\n', /damaged at line 5 \(byte \d+.*\): data after the end marker/],
];
// The same damage in a plain version 2 file and inside the compressed lines of a version 3 one.
for (const compressed of [false, true]) {
  for (const [name, damage, message] of damaged) {
    test(`a damaged ${compressed ? 'compressed' : 'plain'} snapshot names file, line and byte: ${name}`, async () => {
      const file = path.join(dir, `bad-${compressed}-${name.replace(/\W/g, '_')}.data`);
      let text: string;
      if (compressed) {
        await writeSnapshot(file, asIs([group, packed]), 0);
        text = gunzipSync(readFileSync(file)).toString('utf8');
      } else text = plainFile(2, [group, packed]);
      const bad = damage(text);
      writeFileSync(file, compressed && bad !== '' ? gzipSync(bad) : bad);
      await assert.rejects(
        readSnapshot(file, () => undefined),
        (e: Error) => {
          assert.ok(e.message.includes(file), e.message);
          assert.match(e.message, message);
          assert.equal(e.message.includes('decompressed text'), compressed && bad !== '', e.message);
          return true;
        },
      );
    });
  }
}

test('damaged compressed data is named with the line and byte reached', async () => {
  const file = path.join(dir, 'gz.data');
  const many = Array.from({ length: 200 }, (_, i) => ({ ...packed, labels: { job: `p${i}` } }));
  await writeSnapshot(file, asIs(many), 0);
  const good = readFileSync(file);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['truncated', good.subarray(0, good.length - 40), /ends in the middle of its compressed data \(truncated\?\)/],
    // Deflate's stored lengths and Huffman codes: a flipped bit in the middle garbles what
    // follows; whichever check notices first (zlib, JSON, the records, the trailer's CRC), it is named.
    [
      'a flipped byte',
      Buffer.concat([good.subarray(0, 300), Buffer.from([good[300] ^ 0x55]), good.subarray(301)]),
      /./,
    ],
  ];
  for (const [name, bytes, why] of cases) {
    writeFileSync(file, bytes);
    await assert.rejects(
      readSnapshot(file, () => undefined),
      (e: Error) => {
        assert.ok(e.message.includes(file), `${name}: ${e.message}`);
        assert.match(e.message, /is damaged at line \d+ \(byte \d+ of its decompressed text\): /, name);
        assert.match(e.message, why, name);
        return true;
      },
    );
  }
});

test('a group the store refuses stops the read at its line', async () => {
  const file = path.join(dir, 'refused.data');
  await writeSnapshot(file, asIs([group, packed]), 0);
  await assert.rejects(
    readSnapshot(file, (g) => {
      if (g.labels.job === 'p') throw new Error('no room');
    }),
    /damaged at line 3 \(byte \d+ of its decompressed text\): the store cannot take this group: no room/,
  );
});

test('a torn last log line is dropped, damage before it is an error', async () => {
  const file = path.join(dir, 'seg');
  const rec = encodeLine({ delete: { job: 'a' } });
  writeFileSync(file, rec + rec + rec.slice(0, 10));
  assert.equal((await readSegment(file)).length, 2);
  writeFileSync(file, rec + rec.slice(0, 10) + '\n' + rec);
  await assert.rejects(readSegment(file), /write-ahead log .* is damaged at line 2 \(byte \d+\)/);
});
