// A file layer for the write-ahead log (persist/wal.ts OpenFile) that runs out of room or may
// not open files, for tests of what the gateway does when the disk refuses.
import { promises as fs } from 'node:fs';
import type { OpenFile } from '../persist/wal.js';

function errno(code: string, what: string): NodeJS.ErrnoException {
  const text = code === 'ENOSPC' ? 'no space left on device' : 'permission denied';
  return Object.assign(new Error(`${code}: ${text}, ${what}`), { code });
}

/** A file layer over the real one: `room` bytes may still be written, `deny` refuses every open. */
export function failingDisk() {
  const state = { room: Infinity, deny: false };
  const open: OpenFile = async (file, flags, mode) => {
    if (state.deny) throw errno('EACCES', `open '${file}'`);
    const fh = await fs.open(file, flags, mode);
    const write = async (buf: Buffer, off = 0) => {
      const n = Math.min(buf.length - off, state.room);
      if (n === 0) throw errno('ENOSPC', 'write');
      state.room -= n;
      return fh.write(buf, off, n);
    };
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'write') return write;
        const v: unknown = Reflect.get(target, prop);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { state, open };
}
