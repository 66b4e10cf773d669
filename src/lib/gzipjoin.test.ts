import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  ChecksumTree,
  crc32Combine,
  deflatePiece,
  deflatePieceSync,
  GZIP_HEADER,
  gzipTrailer,
  storedPiece,
  type DeflatedPiece,
} from './gzipjoin.js';

test('the CRC-32 of two byte runs laid end to end, from their CRCs and the second one’s length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(Buffer.concat([a, b])));
    }),
    { numRuns: 500 },
  );
  // Lengths in each byte of the shift tables and past them (computed bit by bit there).
  const a = Buffer.from('first run of bytes');
  for (const n of [0x100, 0xffff, 0x10000, 150_001, 0xffffff, 0x1000000, 0x1000005]) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4099) b[i] = i & 0xff;
    assert.equal(crc32Combine(crc32(a), crc32(b), n), crc32(Buffer.concat([a, b])), `length ${n}`);
  }
  // Lengths past 2^32 bytes (a CRC shift does not wrap with the length field).
  const big = 2 ** 33 + 12345;
  assert.equal(crc32Combine(crc32Combine(0x12345678, 0, big), 0, 1), crc32Combine(0x12345678, 0, big + 1));
});

test('a checksum tree gives the CRC-32 of its pieces laid end to end, and again with some of them replaced', () => {
  const sumOf = (b: Uint8Array) => ({ crc: crc32(b), length: b.length });
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
      fc.array(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 300 })), { maxLength: 6 }),
      (pieces, changes) => {
        const tree = ChecksumTree.of(pieces.map(sumOf));
        assert.deepEqual(tree.sum, sumOf(Buffer.concat(pieces)));
        if (pieces.length === 0) return;
        // Replacements of other lengths, some at the same position twice (the last one counts).
        const after = pieces.slice();
        const replaced = new Map<number, { crc: number; length: number }>();
        for (const [at, bytes] of changes) {
          after[at % pieces.length] = bytes;
          replaced.set(at % pieces.length, sumOf(bytes));
        }
        const changed = tree.with(replaced);
        assert.deepEqual(changed.sum, sumOf(Buffer.concat(after)));
        // The tree it was made from is left as it was.
        assert.deepEqual(tree.sum, sumOf(Buffer.concat(pieces)));
      },
    ),
    { numRuns: 300 },
  );
});

test('pieces compressed apart and joined are one gzip member of their bytes, in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 5000 }), fc.string({ maxLength: 4000 })), { maxLength: 12 }),
      fc.array(fc.constantFrom('sync', 'async', 'stored', 'together'), { minLength: 12, maxLength: 12 }),
      async (raw, ways) => {
        const bytes = raw.map((r) => (typeof r === 'string' ? Buffer.from(r.repeat(3)) : Buffer.from(r)));
        // Kept streams compressing several pieces at once, each piece still its own.
        const together = bytes.map((b, i) => (ways[i] === 'together' ? deflatePiece(b) : undefined));
        const pieces: DeflatedPiece[] = [];
        for (const [i, b] of bytes.entries())
          pieces.push(
            ways[i] === 'sync'
              ? deflatePieceSync(b)
              : ways[i] === 'stored'
                ? storedPiece(b)
                : await (together[i] ?? deflatePiece(b)),
          );
        const member = Buffer.concat([GZIP_HEADER, ...pieces.map((p) => p.deflated), gzipTrailer(pieces)]);
        // gunzip checks the CRC and the length.
        assert.deepEqual(gunzipSync(member), Buffer.concat(bytes));
      },
    ),
    { numRuns: 200 },
  );
});

test('a stored piece larger than a stored block holds, between compressed ones', async () => {
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  const pieces = [await deflatePiece(Buffer.from('a b\n')), storedPiece(big), storedPiece(Buffer.alloc(0))];
  pieces.push(await deflatePiece(Buffer.from('c d\n')));
  const member = Buffer.concat([GZIP_HEADER, ...pieces.map((p) => p.deflated), gzipTrailer(pieces)]);
  assert.deepEqual(gunzipSync(member), Buffer.concat([Buffer.from('a b\n'), big, Buffer.from('c d\n')]));
  assert.equal(pieces[1].deflated.length, big.length + 5 * 4);
});

test('a damaged CRC is noticed by the reader (the trailer is what it checks)', () => {
  const pieces = [deflatePieceSync(Buffer.from('a b c\n')), deflatePieceSync(Buffer.from('d e f\n'))];
  const trailer = gzipTrailer(pieces);
  trailer[3] ^= 1;
  assert.throws(() => gunzipSync(Buffer.concat([GZIP_HEADER, ...pieces.map((p) => p.deflated), trailer])));
});
