// One gzip member assembled from pieces compressed apart, so a scrape can reuse the compressed
// text of every family no push changed instead of compressing the whole body again. Each piece
// is a raw deflate stream ended by a sync flush (byte-aligned, not final): independent streams
// laid end to end are one valid stream, since none refers back past its own start. The member's
// CRC-32 is combined from the pieces' (the uncompressed bytes are not needed at assembly).
import { constants, crc32, createDeflateRaw, deflateRaw, deflateRawSync, type DeflateRaw } from 'node:zlib';

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

/** The end of a flushed piece: an empty stored block. */
const FLUSHED = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * A deflate stream used for piece after piece: a full flush ends each piece as a sync flush does
 * and also forgets what came before, so the pieces stay independent. Making a stream per piece
 * cost the main thread about as much as the compression cost the thread pool (allocating and
 * clearing its state, and the stream's setting up), and doubled the CPU a gzip scrape takes.
 * Every write is flushed (the stream's default flush), and its output fits one chunk: one trip to
 * the thread pool and back per piece. A write then a flush took two, each waiting for a turn of a
 * busy event loop: at 1,000 pushes a second, that doubled the time of a scrape's compressing.
 */
class Deflater {
  private readonly stream: DeflateRaw = createDeflateRaw({
    level: OPTIONS.level,
    chunkSize: 256 * 1024,
    flush: constants.Z_FULL_FLUSH,
  });
  private out: Buffer[] = [];
  broken = false;

  constructor() {
    this.stream.on('data', (d: Buffer) => this.out.push(d));
    this.stream.on('error', () => {
      this.broken = true;
    });
  }

  /** The piece's compressed bytes, or undefined when the stream failed or did not end them as a flush does. */
  piece(bytes: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      this.stream.write(bytes, () => {
        const deflated = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
        this.out = [];
        if (this.broken || deflated.length < FLUSHED.length || !deflated.subarray(-FLUSHED.length).equals(FLUSHED)) {
          this.broken = true;
          resolve(undefined);
        } else resolve(deflated);
      });
    });
  }
}

const deflaters: Deflater[] = [];
/** Streams kept for the next pieces (each holds about 300 KiB of zlib state). */
const DEFLATERS_KEPT = 4;

/** Compresses on libuv's thread pool, in one call for the whole input. */
export async function deflatePiece(bytes: Buffer): Promise<DeflatedPiece> {
  const d = deflaters.pop() ?? new Deflater();
  let deflated = await d.piece(bytes);
  if (!d.broken && deflaters.length < DEFLATERS_KEPT) deflaters.push(d);
  // A stream that failed is dropped, and the piece made the plain way (an error there is the caller's).
  deflated ??= await new Promise<Buffer>((resolve, reject) =>
    deflateRaw(bytes, { ...OPTIONS, chunkSize: Math.max(64 * 1024, bytes.length) }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
  return { deflated, crc: crc32(bytes), length: bytes.length };
}

/** Stored blocks hold at most this many bytes each. */
const STORED_MAX = 65_535;

/**
 * The bytes as they are, in stored blocks: for a small piece (a few hundred bytes of the gateway's
 * own metrics) setting up a compressor costs more than the bytes it would save.
 */
export function storedPiece(bytes: Buffer): DeflatedPiece {
  const blocks = Math.max(1, Math.ceil(bytes.length / STORED_MAX));
  const deflated = Buffer.allocUnsafe(bytes.length + 5 * blocks);
  let at = 0;
  for (let from = 0, b = 0; b < blocks; b++, from += STORED_MAX) {
    const n = Math.min(STORED_MAX, bytes.length - from);
    // Not final, stored; the header's three bits padded to the byte, then LEN and its complement.
    deflated[at] = 0;
    deflated.writeUInt16LE(n, at + 1);
    deflated.writeUInt16LE(~n & 0xffff, at + 3);
    at += 5 + bytes.copy(deflated, at + 5, from, from + n);
  }
  return { deflated, crc: crc32(bytes), length: bytes.length };
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
  const { crc, length } = joinChecksums(pieces);
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

/**
 * The checksum of a row of pieces, kept with the checksums of its halves, their halves and so on:
 * a piece replaced (a push changed one block of a large family) then costs a combination per
 * level, not one per piece (a million series are hundreds of blocks, a microsecond each).
 */
export class ChecksumTree {
  private constructor(
    /** Leaves, a power of two; those past the pieces are empty (length 0 combines as nothing). */
    private readonly size: number,
    /** Node k's halves are 2k and 2k + 1; the root is 1, the leaves start at `size`. */
    private readonly crcs: Uint32Array,
    private readonly lengths: Float64Array,
  ) {}

  static of(pieces: readonly Checksum[]): ChecksumTree {
    let size = 1;
    while (size < pieces.length) size *= 2;
    const tree = new ChecksumTree(size, new Uint32Array(2 * size), new Float64Array(2 * size));
    for (let i = 0; i < pieces.length; i++) {
      tree.crcs[size + i] = pieces[i].crc;
      tree.lengths[size + i] = pieces[i].length;
    }
    for (let k = size - 1; k >= 1; k--) tree.join(k);
    return tree;
  }

  /** A tree like this one but for the pieces at the positions given, replaced. */
  with(replaced: ReadonlyMap<number, Checksum>): ChecksumTree {
    const tree = new ChecksumTree(this.size, this.crcs.slice(), this.lengths.slice());
    for (const [i, c] of replaced) {
      tree.crcs[this.size + i] = c.crc;
      tree.lengths[this.size + i] = c.length;
    }
    // Level by level, each ancestor once: blocks replaced side by side share most of theirs.
    let level = new Set<number>();
    for (const i of replaced.keys()) level.add((this.size + i) >>> 1);
    while (level.size > 0) {
      const up = new Set<number>();
      for (const k of level) {
        tree.join(k);
        if (k > 1) up.add(k >>> 1);
      }
      level = up;
    }
    return tree;
  }

  /** The checksum of all the pieces in order. */
  get sum(): Checksum {
    return { crc: this.crcs[1], length: this.lengths[1] };
  }

  private join(k: number): void {
    const right = 2 * k + 1;
    this.crcs[k] = crc32Combine(this.crcs[right - 1], this.crcs[right], this.lengths[right]);
    this.lengths[k] = this.lengths[right - 1] + this.lengths[right];
  }
}

/** The checksum of the pieces laid end to end. */
export function joinChecksums(pieces: Iterable<Checksum>): Checksum {
  let crc = 0;
  let length = 0;
  for (const p of pieces) {
    crc = crc32Combine(crc, p.crc, p.length);
    length += p.length;
  }
  return { crc, length };
}

/** The CRC-32 of A then B, from A's CRC, B's CRC and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiply(shiftBytes(lengthB), crcA) ^ crcB) >>> 0;
}
