import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import { storeContract } from '../store/contract.suite.js';
import type { MetricStore } from '../store/types.js';
import { failingDisk } from '../testing/faultyfs.js';
import { DurableStore } from './durable.js';

for (const sync of [false, true]) {
  storeContract(sync ? 'durable (write-ahead log)' : 'durable (snapshots)', async (limits, expiry) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pgw-contract-'));
    const file = path.join(dir, 'metrics.data');
    const disk = failingDisk();
    const open = (f = file) =>
      DurableStore.open(new MemoryStore(undefined, undefined, limits, expiry), {
        file: f,
        intervalMs: 60_000,
        sync,
        startEmptyOnError: false,
        log: pino({ level: 'silent' }),
        openFile: disk.open,
      });
    let current: MetricStore = await open();
    const others: MetricStore[] = [];
    return {
      store: current,
      // Only the log can refuse a write; snapshots are not waited for.
      refuse: sync ? (refusing) => (disk.state.room = refusing ? 0 : Infinity) : undefined,
      reopen: async () => {
        if (sync) {
          // A crash: nothing but the log is written; the log alone must give the state back.
          others.push(current);
        } else await current.close();
        current = await open();
        return current;
      },
      fresh: async () => {
        const s = await open(path.join(dir, `fresh-${others.length}.data`));
        others.push(s);
        return s;
      },
      cleanup: async () => {
        await current.close();
        for (const s of others) await s.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}
