// One gzip member assembled from pieces compressed apart, so a scrape can reuse the compressed
// text of every family no push changed instead of compressing the whole body again. Each piece
// is a raw deflate stream ended by a sync flush (byte-aligned, not final): independent streams
// laid end to end are one valid stream, since none refers back past its own start. The member's
// CRC-32 is combined from the pieces' (the uncompressed bytes are not needed at assembly).
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';

/** The CRC-32 and length of some bytes. */
export interface Checksum {
  readonly crc: number;
  readonly length: number;
}

/** A piece of the body: its bytes compressed, and the checksum of the bytes. */
export interface DeflatedPiece extends Checksum {
  readonly deflated: Buffer;
}

// Level 1: a quarter of the default's cost for ~10 % more bytes (scrapes are tens of megabytes).
const OPTIONS = { level: 1, finishFlush: constants.Z_SYNC_FLUSH };

/** Compresses on libuv's thread pool, in one call for the whole input. */
export function deflatePiece(bytes: Buffer): Promise<DeflatedPiece> {
  return new Promise((resolve, reject) => {
    deflateRaw(bytes, { ...OPTIONS, chunkSize: Math.max(64 * 1024, bytes.length) }, (err, deflated) => {
      if (err) reject(err);
      else resolve({ deflated, crc: crc32(bytes), length: bytes.length });
    });
  });
}

/** Compresses at once (small pieces: the gateway's own families). */
export function deflatePieceSync(bytes: Buffer): DeflatedPiece {
  return { deflated: deflateRawSync(bytes, OPTIONS), crc: crc32(bytes), length: bytes.length };
}

/** The gzip header: deflate, no name, no time, unknown OS. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

/** An empty final block (fixed Huffman codes, end of block only). */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** The end of the member: the final block, the CRC-32 and the length (mod 2^32) of all pieces. */
export function gzipTrailer(pieces: Iterable<Checksum>): Buffer {
  let crc = 0;
  let length = 0;
  for (const p of pieces) {
    crc = crc32Combine(crc, p.crc, p.length);
    length += p.length;
  }
  const out = Buffer.alloc(10);
  FINAL_BLOCK.copy(out, 0);
  out.writeUInt32LE(crc >>> 0, 2);
  out.writeUInt32LE(length % 2 ** 32, 6);
  return out;
}

// CRC-32 arithmetic: polynomials over GF(2) modulo the CRC's, in its reflected bit order (the
// highest bit is x^0). The CRC of A then B is A's CRC times x^(8·|B|), plus B's CRC.
const POLY = 0xedb88320;
const X0 = 0x80000000;

/** a·b modulo the CRC polynomial. */
function multiply(a: number, b: number): number {
  let product = 0;
  for (let bit = X0; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) for k = 0..63: enough for any length a number holds. */
const SQUARES: number[] = [];
for (let p = X0 >>> 1, k = 0; k < 64; k++, p = multiply(p, p)) SQUARES.push(p);

/** x^(8·n) by squares: one product per bit of n. */
function shiftBySquares(n: number): number {
  let p = X0;
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) if (n % 2 === 1) p = multiply(SQUARES[k], p);
  return p;
}

/**
 * x^(8·v·256^j) for each byte value v of the three low bytes j of a length: a shift is then at
 * most three products, not one per bit (a scrape's trailer combines hundreds of blocks' CRCs).
 */
const BY_BYTE: Uint32Array[] = [0, 1, 2].map((j) => {
  const table = new Uint32Array(256);
  for (let v = 0; v < 256; v++) table[v] = shiftBySquares(v * 256 ** j);
  return table;
});

/** x^(8·n): the factor that shifts a CRC past n bytes. */
function shiftBytes(n: number): number {
  if (n >= 2 ** 24) return shiftBySquares(n);
  let p = BY_BYTE[0][n & 0xff];
  if (n >= 0x100) p = multiply(BY_BYTE[1][(n >>> 8) & 0xff], p);
  if (n >= 0x10000) p = multiply(BY_BYTE[2][n >>> 16], p);
  return p;
}

/** The CRC-32 of A then B, from A's CRC, B's CRC and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiply(shiftBytes(lengthB), crcA) ^ crcB) >>> 0;
}
