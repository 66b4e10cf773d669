// The snapshot file: a versioned JSON-lines format of our own (documented in docs/persistence.md),
// written atomically (temporary file, fsync, rename, fsync of the directory).
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeLine, encodeLine, type GroupRecord } from './codec.js';
import { groupRecordProblem } from './records.js';

export const FORMAT = 'pushgateway-ts-snapshot';
/**
 * 2: families the store keeps packed are written packed (their text lines), and the end marker
 * carries the CRC-32 of every byte before it, since damage inside those lines would not break the
 * JSON. Version 1 files (every family parsed, no checksum) are still read.
 */
export const VERSION = 2;
const READABLE = [1, 2];

export interface SnapshotHeader {
  format: string;
  version: number;
  /** First write-ahead-log segment not contained in this snapshot. */
  walSegment: number;
  groups: number;
  writtenAt: string;
}

export class SnapshotError extends Error {}

/** Serializes the groups now (so later writes cannot tear the snapshot) into lines. */
export function encodeSnapshot(groups: Iterable<GroupRecord>, walSegment: number): string[] {
  const lines: string[] = [];
  for (const g of groups) lines.push(encodeLine(g));
  const header: SnapshotHeader = {
    format: FORMAT,
    version: VERSION,
    walSegment,
    groups: lines.length,
    writtenAt: new Date().toISOString(),
  };
  const head = encodeLine(header);
  let crc = crc32(head);
  for (const l of lines) crc = crc32(l, crc);
  return [head, ...lines, encodeLine({ end: lines.length, crc32: crc })];
}

export async function writeFileAtomically(file: string, lines: string[]): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.in_progress.${process.pid}`);
  const fh = await fs.open(tmp, 'w', 0o644);
  try {
    // Write in chunks of about 1 MiB so a large store does not need one giant string.
    let chunk = '';
    for (const line of lines) {
      chunk += line;
      if (chunk.length > 1 << 20) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    if (chunk !== '') await fh.write(chunk);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.rename(tmp, file);
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, fsc.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Reads a snapshot; undefined when the file does not exist. Any damage (bad JSON, a wrong
 * format or version, a missing end marker) is a SnapshotError naming the file, line and byte.
 */
export async function readSnapshot(
  file: string,
): Promise<{ header: SnapshotHeader; groups: GroupRecord[] } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read persistence file ${file}: ${(e as Error).message}`);
  }
  const text = bytes.toString('utf8');
  // Checksum of everything before the last line, which is the end marker in an intact file.
  const lastLine = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
  const crcBeforeLast = crc32(bytes.subarray(0, lastLine));
  const fail = (line: number, byte: number, why: string) =>
    new SnapshotError(`persistence file ${file} is damaged at line ${line} (byte ${byte}): ${why}`);
  let pos = 0;
  let lineNo = 0;
  const next = (): { line: string; start: number } | undefined => {
    if (pos >= text.length) return undefined;
    const nl = text.indexOf('\n', pos);
    const start = pos;
    lineNo++;
    if (nl < 0) {
      pos = text.length;
      throw fail(lineNo, Buffer.byteLength(text.slice(0, start)), 'the file ends in the middle of a line (truncated?)');
    }
    pos = nl + 1;
    return { line: text.slice(start, nl), start };
  };
  const parse = <T>(l: { line: string; start: number }): T => {
    try {
      return decodeLine<T>(l.line);
    } catch (e) {
      throw fail(lineNo, Buffer.byteLength(text.slice(0, l.start)), (e as Error).message);
    }
  };
  const first = next();
  if (first === undefined) throw fail(1, 0, 'the file is empty');
  const header = parse<SnapshotHeader | null>(first);
  if (typeof header !== 'object' || header === null || header.format !== FORMAT) {
    throw fail(1, 0, `not a ${FORMAT} file`);
  }
  if (!READABLE.includes(header.version))
    throw fail(1, 0, `format version ${header.version} is not supported (this build reads ${READABLE.join(' and ')})`);
  const groups: GroupRecord[] = [];
  for (;;) {
    const l = next();
    if (l === undefined) {
      throw fail(
        lineNo + 1,
        Buffer.byteLength(text),
        `the file ends after ${groups.length} of ${header.groups} groups (truncated?)`,
      );
    }
    const rec = parse<GroupRecord | { end: number; crc32?: number } | null>(l);
    if (typeof rec === 'object' && rec !== null && 'end' in rec) {
      if (rec.end !== groups.length || groups.length !== header.groups) {
        throw fail(
          lineNo,
          Buffer.byteLength(text.slice(0, l.start)),
          `end marker counts ${rec.end} groups, the file holds ${groups.length}`,
        );
      }
      if (header.version >= 2 && pos === text.length && rec.crc32 !== crcBeforeLast) {
        throw fail(
          lineNo,
          lastLine,
          `checksum mismatch: the end marker says ${rec.crc32}, the bytes before it give ${crcBeforeLast}`,
        );
      }
      break;
    }
    const problem = groupRecordProblem(rec);
    if (problem !== undefined) throw fail(lineNo, Buffer.byteLength(text.slice(0, l.start)), problem);
    groups.push(rec as GroupRecord);
  }
  if (pos < text.length) throw fail(lineNo + 1, Buffer.byteLength(text.slice(0, pos)), 'data after the end marker');
  return { header, groups };
}
