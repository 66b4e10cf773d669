import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSnappyFramed, encodeSnappyFramed } from './snappy.js';

const text = Buffer.from('# TYPE m gauge\n' + Array.from({ length: 5000 }, (_, i) => `m{i="${i}"} ${i}\n`).join(''));

test('framed snappy round-trips, across several blocks', () => {
  const framed = encodeSnappyFramed(text);
  assert.ok(text.length > 65536 && framed.length < text.length);
  assert.deepEqual(decodeSnappyFramed(framed, 1 << 24), text);
});

const bad: Array<[string, (b: Buffer) => Buffer, string]> = [
  ['no stream identifier', (b) => b.subarray(10), 'snappy: corrupt input'],
  ['truncated', (b) => b.subarray(0, b.length - 3), 'snappy: corrupt input'],
  [
    'checksum mismatch',
    (b) => Buffer.concat([b.subarray(0, 14), Buffer.from([b[14] ^ 1]), b.subarray(15)]),
    'snappy: corrupt input',
  ],
  [
    'reserved unskippable chunk',
    (b) => Buffer.concat([b.subarray(0, 10), Buffer.from([0x02, 0, 0, 0])]),
    'snappy: unsupported input',
  ],
  ['raw block without framing', () => Buffer.from('not snappy at all'), 'snappy: corrupt input'],
];
for (const [name, damage, message] of bad) {
  test(`framed snappy refuses: ${name}`, () => {
    assert.throws(() => decodeSnappyFramed(damage(encodeSnappyFramed(text)), 1 << 24), { message });
  });
}

test('padding chunks are skipped; output past the bound is refused', () => {
  const framed = encodeSnappyFramed(Buffer.from('x 1\n'));
  const padded = Buffer.concat([framed.subarray(0, 10), Buffer.from([0xfe, 2, 0, 0, 0, 0]), framed.subarray(10)]);
  assert.equal(decodeSnappyFramed(padded, 100).toString(), 'x 1\n');
  assert.throws(() => decodeSnappyFramed(encodeSnappyFramed(text), 1000), /exceeds the limit of 1000 bytes/);
});
