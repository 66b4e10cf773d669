// Sends a large body (a scrape) without holding the event loop or a copy of it: the parts are
// copied into 64 KiB chunks one at a time and written while the socket holds less than 1 MiB of
// them, with a turn of the event loop every 4 ms of copying so pushes keep being served. A client
// that goes away stops it at once.
// Gzip: each family's parts are compressed in blocks on libuv's thread pool and the pieces joined
// into one gzip member (lib/gzipjoin.ts). A GzipCache keeps each family's compressed blocks from
// scrape to scrape: a block whose parts are unchanged is not compressed again, so after a push only
// the blocks holding the pushed group's runs are (a family no push changed costs nothing).
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { PartsDelta } from '../expose/scrape.js';
import {
  ChecksumTree,
  deflatePiece,
  deflatePieceSync,
  GZIP_HEADER,
  gzipTrailer,
  joinChecksums,
  storedPiece,
  type Checksum,
  type DeflatedPiece,
} from '../lib/gzipjoin.js';

const CHUNK = 64 * 1024;
const QUEUED = 1024 * 1024;
const SLICE_MS = 4;
const SMALL_GZIP = 1024 * 1024;
/** Bytes compressed in one call on the thread pool, and the most a block holds but for one larger part. */
const PIECE = 1024 * 1024;
/**
 * Blocks end after a part whose hash says so once they hold BLOCK_MIN bytes: where a block ends
 * depends on the parts around it, not on what came before, so a changed part moves at most its
 * own block's end and the blocks after it are found again. Large enough that a block compresses
 * nearly as well as the whole (each starts with an empty dictionary).
 */
const BLOCK_MIN = 128 * 1024;
/** A part ends a block (past BLOCK_MIN) one time in 2^(32 - CUT_SHIFT): 32. */
const CUT_SHIFT = 27;
/** Bytes of a part's start and end its cut hash reads (see cutAfter). */
const CUT_HEAD = 64;
const CUT_TAIL = 32;
/**
 * Pieces this small are sent stored, not compressed: the gateway's own families, remade at every
 * scrape, are forty of them, and setting up a compressor for each took half an idle scrape's time.
 */
const STORED = 4096;
/**
 * Bytes of blocks kept (per format), past which blocks keep none: the text of a 10,000-group
 * fleet is 31 MiB (every block of it holds a run pushed within a second); a store many times that
 * compresses the blocks past it from the parts.
 */
const LAID_MAX = 64 * 1024 * 1024;
/** Blocks compressed at once on libuv's thread pool (of 4 threads, which also write the write-ahead log). */
const IN_FLIGHT = 2;

type Part = string | Uint8Array;

/**
 * A body as its families' parts (byte strings or bytes), in order; a family's name keys what is
 * kept of it, and `since` says which parts changed from an earlier array of them (so that finding
 * the unchanged blocks does not read every part: on a large family that is milliseconds of
 * cache misses).
 */
export type FamilyParts = ReadonlyArray<{
  readonly name?: string;
  readonly parts: ReadonlyArray<Part>;
  readonly build?: number;
  readonly since?: PartsDelta;
}>;

// Chunks whose bytes were written out, for the next ones: a scrape of tens of megabytes would
// otherwise allocate a new 64 KiB buffer per chunk, external memory that V8 answers with
// collections of the whole heap.
const spare: Buffer[] = [];
const SPARE_MAX = 32;

function takeChunk(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(CHUNK);
}

function giveBack(chunk: Buffer): void {
  if (spare.length < SPARE_MAX) spare.push(chunk);
}

/**
 * Writes the families' parts as the whole body of a 200 answer, gzipped with what `gzip` keeps
 * (one per format: a family's blocks are looked up by its name); resolves when sent or abandoned.
 */
export async function streamBody(
  res: ServerResponse,
  families: FamilyParts,
  headers: Record<string, string>,
  gzip: GzipCache | undefined,
): Promise<void> {
  // Gzipped, only whether the body is small matters (a million parts are a few milliseconds).
  const enough = gzip === undefined ? Infinity : SMALL_GZIP + 1;
  let length = 0;
  for (const f of families) {
    for (const p of f.parts) if ((length += p.length) >= enough) break;
    if (length >= enough) break;
  }
  if (gzip !== undefined) headers['Content-Encoding'] = 'gzip';
  if (gzip !== undefined && length <= SMALL_GZIP) {
    // Compressing ~1 MiB at level 1 takes a few milliseconds here; through the thread pool it
    // would take a turn of the event loop per piece, each behind every push waiting.
    const body = gzipSync(join(families, length), { level: 1 });
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
    return;
  }
  if (gzip === undefined) headers['Content-Length'] = String(length);
  res.writeHead(200, headers);
  if (gzip === undefined && length <= CHUNK) {
    // Small: one write, nothing to wait for.
    res.end(join(families, length));
    return;
  }
  let gone = false;
  const leave = () => {
    gone = true;
  };
  res.once('close', leave);
  let slice = performance.now();
  // Writes between two waits leave in one system call, not one each (a scrape is hundreds of pieces).
  res.cork();
  /** Writes the bytes; a promise only when the scrape must wait before the next write. */
  const send = (bytes: Uint8Array, from?: Buffer): Promise<void> | undefined => {
    // Once written (or failed), the socket holds the chunk no more.
    if (from !== undefined) res.write(bytes, () => giveBack(from));
    else res.write(bytes);
    // A slow reader holds at most QUEUED bytes of this scrape; a fast one is not waited for per chunk.
    if (res.writableLength > QUEUED && !gone) return pause(drainedOrClosed(res));
    // A turn for other requests every few milliseconds of copying.
    if (!gone && performance.now() - slice > SLICE_MS) return pause(new Promise<void>((r) => setImmediate(r)));
    return undefined;
  };
  /** What `until` gives, once the writes so far have left. */
  const pause = async <T>(until: Promise<T>): Promise<T> => {
    res.uncork();
    try {
      return await until;
    } finally {
      slice = performance.now();
      res.cork();
    }
  };
  if (gzip !== undefined) {
    const sums: Checksum[] = [];
    res.write(GZIP_HEADER);
    // The next family's blocks are being compressed while this one's are sent, and the families
    // after it are planned as long as the thread pool has little to do: after a push to a large
    // store, the changed block of a family far down the body is compressed from the start.
    const planned: Planned[] = [];
    const planAhead = (i: number) => {
      while (planned.length < families.length && (planned.length <= i + 1 || gzip.pending < IN_FLIGHT))
        planned.push(gzip.plan(families[planned.length], () => gone));
    };
    for (let i = 0; i < families.length && !gone; i++) {
      planAhead(i);
      const { blocks, sum } = planned[i];
      for (const b of blocks) {
        // A kept block is written at once; for one still being compressed, the writes before it leave first.
        const { pieces } = (b instanceof Promise ? await pause(b) : b) ?? { pieces: [] };
        for (const p of pieces) {
          const wait = send(p.deflated);
          if (wait !== undefined) await wait;
        }
        if (gone) break;
      }
      // Once all its blocks are made, the family's checksum is too.
      const made = sum instanceof Promise ? await sum : sum;
      if (made !== undefined) sums.push(made);
      else if (!gone) throw new Error(`gzip: no checksum for family ${families[i].name ?? i}`);
    }
    res.off('close', leave);
    res.uncork();
    if (gone) return;
    res.end(gzipTrailer(sums));
    gzip.keepOnly(families);
    return;
  }
  let chunk: Buffer | undefined;
  for (const n of fillings(
    families.map((f) => f.parts),
    () => (chunk = takeChunk()),
  )) {
    if (gone) break;
    const wait = send(chunk!.subarray(0, n), chunk);
    if (wait !== undefined) await wait;
  }
  res.off('close', leave);
  res.uncork();
  if (!gone) res.end();
}

/**
 * A run of a family's parts, their compressed form and the checksum of their bytes; within the
 * budget, also its bytes (see Laid), which the block compressed after it with the same bounds
 * takes over: after a push, it writes the changed parts into them, not every part (hundreds of
 * thousands of small strings spread over the heap: copying them was a third of a busy scrape).
 */
interface Block {
  readonly parts: ReadonlyArray<Part>;
  readonly pieces: DeflatedPiece[];
  readonly sum: Checksum;
  /** The family's compression it was made in (see Kept.round). */
  readonly round: number;
  /** Made of several blocks that changed at every compression (see GzipCache.plan). */
  readonly joined: boolean;
  laid?: Laid;
}

/**
 * A block's parts' bytes, in a buffer with room for them to grow (written over in place by the
 * next block, not allocated anew: 30 MB a second of new buffers at a busy 10,000-group fleet
 * made twice as many full collections and a third more CPU), where each part ends in them.
 */
interface Laid {
  readonly room: Buffer;
  readonly size: number;
  readonly ends: Uint32Array;
}

function block(
  parts: ReadonlyArray<Part>,
  pieces: DeflatedPiece[],
  round: number,
  joined: boolean,
  laid: Laid | undefined,
): Block {
  return { parts, pieces, sum: pieces.length === 1 ? pieces[0] : joinChecksums(pieces), round, joined, laid };
}

/**
 * A family's parts as last compressed, its blocks with the position of each one's first part,
 * each block by its first part (to find it again when not told what changed: made when first
 * asked, as a scrape after a push is told), and the checksum of the whole, from a tree of the
 * blocks' checksums (for the next scrape's changed blocks).
 */
interface Kept {
  readonly parts: ReadonlyArray<Part>;
  readonly build: number | undefined;
  readonly blocks: Block[];
  readonly starts: readonly number[];
  byFirst(): Map<Part, Block>;
  readonly sums: ChecksumTree;
  readonly sum: Checksum;
  /** Bytes its blocks keep (see Block). */
  readonly laid: number;
  /** How many times blocks of the family were compressed (1 for the first Kept of it). */
  readonly round: number;
}

/** What is kept of the family's parts, given its blocks; `starts` when they are the kept ones' bounds. */
function kept(
  parts: ReadonlyArray<Part>,
  build: number | undefined,
  round: number,
  blocks: Block[],
  sums: ChecksumTree,
  starts?: readonly number[],
): Kept {
  if (starts === undefined) {
    const at: number[] = [];
    for (let b = 0, i = 0; b < blocks.length; i += blocks[b++].parts.length) at.push(i);
    starts = at;
  }
  let byFirst: Map<Part, Block> | undefined;
  const first = () => {
    if (byFirst === undefined) {
      byFirst = new Map();
      for (const b of blocks) byFirst.set(b.parts[0], b);
    }
    return byFirst;
  };
  let laid = 0;
  for (const b of blocks) laid += b.laid?.size ?? 0;
  return { parts, build, blocks, starts, byFirst: first, sums, sum: sums.sum, laid, round };
}

/**
 * A family's blocks as a scrape sends them, and the checksum of all: at once when every block
 * is kept, else once the new ones are made (undefined if one was not).
 */
interface Planned {
  readonly blocks: ReadonlyArray<Block | Promise<Block | undefined>>;
  readonly sum: Checksum | Promise<Checksum | undefined>;
}

/** The kept blocks holding a changed part, each with the positions of its changed parts in it (ascending). */
function touched(old: Kept, changed: ReadonlyArray<number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const at of changed) {
    let lo = 0;
    let hi = old.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (old.starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    const list = out.get(lo);
    if (list === undefined) out.set(lo, [at - old.starts[lo]]);
    else list.push(at - old.starts[lo]);
  }
  // A part changed twice since is listed twice.
  for (const list of out.values()) if (list.length > 1) list.sort((a, b) => a - b);
  return out;
}

/** What gzipped scrapes in one format made of each family, by name, for the next one. */
export class GzipCache {
  private readonly kept = new Map<string, Kept>();
  /** Input buffers of the compressions running, kept for the next ones. */
  private readonly inputs: Buffer[] = [];
  private running = 0;
  private readonly queued: Array<() => void> = [];
  /** Compressions running or waiting for a place. */
  get pending(): number {
    return this.running + this.queued.length;
  }
  /** Bytes the kept blocks keep. */
  private laid = 0;
  /** Bytes and blocks compressed so far: what a scrape after a push costs shows here. */
  compressedBytes = 0;
  compressedBlocks = 0;
  /** Parts whose bytes were copied from the part (not from a kept block's bytes). */
  partsRead = 0;

  /** `laidMax`: bytes of blocks kept, past which blocks keep none. */
  constructor(private readonly laidMax = LAID_MAX) {}

  /** Uncompressed bytes the kept blocks keep. */
  get bytesKept(): number {
    return this.laid;
  }

  /**
   * The family's blocks: those kept as they are, the others as their compression (queued at
   * once, so the thread pool works ahead of the sending; undefined once `gone()`).
   */
  plan(f: FamilyParts[number], gone: () => boolean): Planned {
    const old = f.name === undefined ? undefined : this.kept.get(f.name);
    // Unchanged: the same array and build (an array is used again for a later build).
    if (old !== undefined && old.parts === f.parts && old.build === f.build) return old;
    const { name, parts } = f;
    const blocks: Array<Block | Promise<Block | undefined>> = [];
    const fresh: Array<Promise<Block | undefined>> = [];
    /** The position in `blocks` of each fresh one. */
    const at: number[] = [];
    const round = (old?.round ?? 0) + 1;
    // Told what changed since the parts kept: the other blocks are theirs as they are, unread.
    // Not told (a family remade whole, or built twice since the kept one as when a push came
    // between a scrape's preparing and its sending), as many parts as kept: compared slot by slot.
    const dirty =
      old === undefined || parts.length !== old.parts.length
        ? undefined
        : old.build !== undefined && f.since?.base === old.build
          ? touched(old, f.since.changed)
          : compared(old, parts);
    /** The end of a joined block being cut again at the parts' own bounds. */
    let cap = parts.length;
    for (let i = 0, b = 0; i < parts.length;) {
      let end: number | undefined;
      let from: Relaid | undefined;
      let keep = false;
      let joined = false;
      if (i >= cap) cap = parts.length;
      if (dirty !== undefined) {
        while (b < old!.starts.length && old!.starts[b] < i) b++;
        if (old!.starts[b] === i && !dirty.has(b)) {
          blocks.push(old!.blocks[b]);
          i += old!.blocks[b].parts.length;
          continue;
        }
        // A changed block keeps its bounds: cut anew, its end could move, and the ends of the
        // blocks after it with it, each then compressed again.
        if (old!.starts[b] === i) {
          const was = old!.blocks[b];
          end = i + was.parts.length;
          if (was.round === round - 1) {
            // Changed at each of the last compressions, as the changed blocks after it (every
            // block of a busy fleet, between two scrapes): compressed with them, up to a piece,
            // as one block from then on. Each compression on the thread pool costs the event
            // loop a turn and a thread's waking, whatever its size: 250 a scrape were a fifth of
            // a busy fleet's scrape. Joined from the first compression after the one that made
            // them, and kept with its bytes from then: joined a compression later, the first
            // busy scrapes after a quiet while copied every part three times over, into new
            // bytes twice (a third and a half of a second each at 10,000 fleet groups).
            let size = was.sum.length;
            let k = b + 1;
            for (; k < old!.blocks.length && dirty.has(k) && old!.blocks[k].round === round - 1; k++) {
              if ((size += old!.blocks[k].sum.length) > PIECE) break;
              end += old!.blocks[k].parts.length;
            }
            joined = was.joined || k > b + 1;
            // Kept bytes pay where a block changes at every compression of its family (each
            // second in a busy fleet), not where one changes now and then (a large store).
            keep = true;
            if (k === b + 1) from = { old: was, changed: dirty.get(b)! };
          } else if (was.joined) {
            // Changed again after a quiet compression: cut at the parts' own bounds, so that a
            // push now and then compresses a block, not a piece.
            cap = end;
            end = undefined;
          }
        }
      } else {
        const found = old?.byFirst().get(parts[i]);
        if (found !== undefined && startsWith(parts, i, found.parts)) {
          blocks.push(found);
          i += found.parts.length;
          continue;
        }
      }
      end ??= Math.min(blockEnd(parts, i), cap);
      const run = parts.slice(i, end);
      this.compressedBlocks++;
      const made = this.compress(run, gone, keep, from).then((c) => c && block(run, c.pieces, round, joined, c.laid));
      at.push(blocks.length);
      blocks.push(made);
      fresh.push(made);
      i = end;
    }
    // Kept once all are made; a failed compression fails the scrape that waits for it, not this.
    const sum = Promise.all(fresh).then(
      (made) => {
        if (made.some((b) => b === undefined)) return undefined;
        const all = blocks.slice() as Block[];
        for (let k = 0; k < at.length; k++) all[at[k]] = made[k]!;
        // Where the blocks keep the kept ones' bounds, their starts are the same and only the new
        // ones' checksums change.
        const next =
          dirty !== undefined && all.length === old!.blocks.length
            ? kept(
                parts,
                f.build,
                round,
                all,
                old!.sums.with(new Map(at.map((b, j) => [b, made[j]!.sum]))),
                old!.starts,
              )
            : kept(parts, f.build, round, all, ChecksumTree.of(all.map((b) => b.sum)));
        if (name !== undefined) {
          this.laid += next.laid - (this.kept.get(name)?.laid ?? 0);
          this.kept.set(name, next);
        }
        return next.sum;
      },
      () => undefined,
    );
    return { blocks, sum };
  }

  /** Forgets the families a complete scrape no longer had. */
  keepOnly(families: FamilyParts): void {
    const names = new Set(families.map((f) => f.name));
    for (const [name, k] of this.kept)
      if (!names.has(name)) {
        this.laid -= k.laid;
        this.kept.delete(name);
      }
  }

  private async compress(
    parts: ReadonlyArray<Part>,
    gone: () => boolean,
    keep: boolean,
    from: Relaid | undefined,
  ): Promise<{ pieces: DeflatedPiece[]; laid?: Laid } | undefined> {
    // A few at a time: the thread pool also writes the write-ahead log.
    if (this.running >= IN_FLIGHT) await new Promise<void>((r) => this.queued.push(r));
    this.running++;
    try {
      if (gone()) return undefined;
      // Only a block compressed again right after the one before keeps its bytes.
      if (keep && this.laid < this.laidMax) {
        const { laid, read } = lay(parts, from);
        this.partsRead += read;
        const pieces: DeflatedPiece[] = [];
        for (let at = 0; at < laid.size; at += PIECE) {
          if (gone()) return undefined;
          pieces.push(await this.deflate(laid.room.subarray(at, Math.min(at + PIECE, laid.size))));
        }
        return gone() ? undefined : { pieces, laid };
      }
      const input = this.inputs.pop() ?? Buffer.allocUnsafe(PIECE);
      try {
        const pieces: DeflatedPiece[] = [];
        this.partsRead += parts.length;
        for (const n of fillings([parts], () => input)) {
          if (gone()) return undefined;
          // The input is filled again only once the thread pool is done with it.
          pieces.push(await this.deflate(input.subarray(0, n)));
        }
        return gone() ? undefined : { pieces };
      } finally {
        this.inputs.push(input);
      }
    } finally {
      this.running--;
      this.queued.shift()?.();
    }
  }

  private deflate(bytes: Buffer): DeflatedPiece | Promise<DeflatedPiece> {
    const n = bytes.length;
    this.compressedBytes += n;
    return n <= STORED ? storedPiece(bytes) : n < CHUNK ? deflatePieceSync(bytes) : deflatePiece(bytes);
  }
}

/**
 * A kept block compressed again with the same bounds at the next compression of its family, and
 * its parts' positions that changed (ascending, maybe repeated).
 */
interface Relaid {
  readonly old: Block;
  readonly changed: readonly number[];
}

/**
 * The bytes of a block compressed again, and how many parts were read to make them: the old
 * block's bytes (taken from it) with the changed parts written over, or if it kept none (or
 * blocks were joined), every part's.
 */
function lay(parts: ReadonlyArray<Part>, from: Relaid | undefined): { laid: Laid; read: number } {
  const n = parts.length;
  const taken = from?.old.laid;
  if (from === undefined || taken === undefined || taken.ends.length !== n) {
    const ends = new Uint32Array(n);
    let size = 0;
    for (let k = 0; k < n; k++) ends[k] = size += parts[k].length;
    const room = withRoom(size);
    for (let k = 0; k < n; k++) put(room, k === 0 ? 0 : ends[k - 1], parts[k]);
    return { laid: { room, size, ends }, read: n };
  }
  const { old, changed } = from;
  // Taken at once: a scrape planned from the same blocks meanwhile reads the parts instead.
  old.laid = undefined;
  const { room, ends } = taken;
  const start = (k: number) => (k === 0 ? 0 : ends[k - 1]);
  // The runs of unchanged parts as [from, to, shift] (by the growth of the changed parts before).
  const spans: number[] = [];
  const written: number[] = [];
  let shift = 0;
  let next = 0;
  for (const k of changed) {
    if (k < next) continue;
    if (k > next) spans.push(start(next), ends[k - 1], shift);
    shift += parts[k].length - (ends[k] - start(k));
    written.push(k);
    next = k + 1;
  }
  if (next < n) spans.push(start(next), ends[n - 1], shift);
  const size = taken.size + shift;
  let into = room;
  if (size > room.length) {
    into = withRoom(size);
    for (let i = 0; i < spans.length; i += 3) room.copy(into, spans[i] + spans[i + 2], spans[i], spans[i + 1]);
  } else {
    // In place: runs moving left in order, then runs moving right in reverse order, so none is
    // written over before it moved (each lands at or before the next one's old start, after the
    // one before's new end).
    for (let i = 0; i < spans.length; i += 3)
      if (spans[i + 2] < 0) room.copyWithin(spans[i] + spans[i + 2], spans[i], spans[i + 1]);
    for (let i = spans.length - 3; i >= 0; i -= 3)
      if (spans[i + 2] > 0) room.copyWithin(spans[i] + spans[i + 2], spans[i], spans[i + 1]);
  }
  shift = 0;
  for (let k = 0, w = 0, was = 0; k < n; k++) {
    const end = ends[k];
    if (written[w] === k) {
      shift += parts[k].length - (end - was);
      w++;
    }
    was = end;
    ends[k] = end + shift;
  }
  for (const k of written) put(into, start(k), parts[k]);
  return { laid: { room: into, size, ends }, read: written.length };
}

/** A buffer for `size` bytes with an eighth more room. */
function withRoom(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size + (size >>> 3));
}

function put(bytes: Buffer, at: number, p: Part): void {
  if (typeof p === 'string') (bytes as Latin1Writable).latin1Write(p, at);
  else bytes.set(p, at);
}

/** The kept blocks with a part not at its place in `parts` (as many as kept), each with the positions of those parts in it. */
function compared(old: Kept, parts: ReadonlyArray<Part>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let b = 0; b < old.blocks.length; b++) {
    const kept = old.blocks[b].parts;
    const at = old.starts[b];
    let changed: number[] | undefined;
    for (let k = 0; k < kept.length; k++) if (kept[k] !== parts[at + k]) (changed ??= []).push(k);
    if (changed !== undefined) out.set(b, changed);
  }
  return out;
}

function startsWith(parts: ReadonlyArray<Part>, at: number, block: ReadonlyArray<Part>): boolean {
  if (at + block.length > parts.length) return false;
  for (let k = 0; k < block.length; k++) if (parts[at + k] !== block[k]) return false;
  return true;
}

/** Where the block starting at `from` ends (exclusive). */
function blockEnd(parts: ReadonlyArray<Part>, from: number): number {
  let size = 0;
  let j = from;
  do size += parts[j++].length;
  while (j < parts.length && size < PIECE && !(size >= BLOCK_MIN && cutAfter(parts[j - 1])));
  return j;
}

/**
 * Whether a block may end after this part: a hash of its first and last bytes. The last bytes
 * alone are alike in every group's run where runs end with the same series but for a label early
 * in the line (`instance` before `job` and `series`): no part was ever a cut, every block grew to
 * PIECE, and a push made a whole MiB compress again (and moved every later block's end).
 */
function cutAfter(p: Part): boolean {
  let h = 0x811c9dc5;
  const head = Math.min(p.length, CUT_HEAD);
  for (let k = 0; k < head; k++) h = Math.imul(h ^ byteOf(p, k), 0x01000193);
  for (let k = Math.max(head, p.length - CUT_TAIL); k < p.length; k++) h = Math.imul(h ^ byteOf(p, k), 0x01000193);
  // The high bits: FNV's low bits depend only on the inputs' low bits, and with a line's end
  // fixed (a digit, a newline) some values never came out.
  return h >>> CUT_SHIFT === 0;
}

function byteOf(p: Part, k: number): number {
  return typeof p === 'string' ? p.charCodeAt(k) : p[k];
}

/**
 * Copies the parts into buffers from `take` (called for each buffer after the first), yielding
 * how many bytes each holds once full, and the last one's. Each part is written where it goes:
 * concatenating small strings first (one write per rope of 32 KiB) copied a little faster but
 * made a scrape's whole body again as young strings, 33 MB a second at 10,000 fleet groups, and
 * the scavenges they caused were 40 % of the event loop's long turns (busy fleet: push p99
 * 94–106 → 68–82 ms, event-loop utilisation 0.82–0.89 → 0.75–0.83). Indexed loops, not for-of:
 * in a generator, each step of an array's iterator left a result object behind (9 MB a second).
 */
function* fillings(lists: ReadonlyArray<ReadonlyArray<Part>>, take: () => Buffer): Generator<number> {
  let buffer: Buffer | undefined;
  let at = 0;
  for (let l = 0; l < lists.length; l++) {
    const parts = lists[l];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      for (let from = 0; from < p.length;) {
        buffer ??= take();
        const room = buffer.length - at;
        if (room === 0) {
          yield at;
          buffer = undefined;
          at = 0;
          continue;
        }
        const n = Math.min(room, p.length - from);
        if (typeof p !== 'string') at += Buffer.from(p.buffer, p.byteOffset + from, n).copy(buffer, at);
        else at += (buffer as Latin1Writable).latin1Write(n === p.length ? p : p.slice(from, from + n), at);
        from += n;
      }
    }
  }
  if (at > 0) yield at;
}

/**
 * Node's Buffer#latin1Write (undocumented, on every Buffer since Node 0.x): what write(s, at,
 * 'latin1') calls after sorting out its arguments, which took twice as long as the copy itself
 * for a scrape's hundreds of thousands of small parts.
 */
type Latin1Writable = Buffer & { latin1Write(s: string, at: number): number };

/** Waits for either; unlike racing two events.once, leaves no listener behind on the other. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function join(families: FamilyParts, length: number): Buffer {
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const f of families)
    for (const p of f.parts)
      at +=
        typeof p === 'string'
          ? body.write(p, at, 'latin1')
          : Buffer.from(p.buffer, p.byteOffset, p.length).copy(body, at);
  return body;
}
