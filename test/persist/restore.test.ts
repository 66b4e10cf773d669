// A store is restored within the heap that serves it: a real gateway process with a small V8 heap
// (--max-old-space-size=96) restores a snapshot of 30,000 groups (210,000 series with their push
// times, about 30 MiB of store, some 60 MiB with the scrape cache built), serves a full scrape of
// it, and writes it back on SIGTERM. Reading the whole file and decoding it at once, as earlier
// builds did, ran out of that heap on the same store.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTextBytes } from '../../src/parse/text.js';
import { decodeLine, encodeLine, type GroupRecord } from '../../src/persist/codec.js';
import { freezeGroups, readSnapshot, writeSnapshot } from '../../src/persist/snapshot.js';
import { MemoryStore } from '../../src/store/memory.js';
import { startServer, type RunningServer } from '../support/servers.js';

const GROUPS = 30_000;
const HEAP_MIB = 96;

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-restore-'));
let server: RunningServer | undefined;
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The snapshot of GROUPS groups of five series: one pushed through a store, the rest renamed copies. */
async function writeStore(file: string): Promise<void> {
  const store = new MemoryStore();
  let body = '# HELP requests Requests served.\n# TYPE requests counter\n';
  for (let s = 0; s < 5; s++) body += `requests{path="/api/items/${s}",status="200"} ${1000 + s}\n`;
  const labels = { job: 'restore', instance: 'host-000000' };
  const r = await store.write({ labels, families: parseTextBytes(Buffer.from(body)), replace: true, check: true });
  assert.ok(r.ok);
  const line = encodeLine(freezeGroups(store.groups()).groups[0].record());
  const named = (i: number) => `host-${String(i).padStart(6, '0')}`;
  const groups = Array.from({ length: GROUPS }, (_, i) => ({
    record: () => decodeLine<GroupRecord>(line.replaceAll('host-000000', named(i))),
  }));
  await writeSnapshot(file, { groups, takenAt: new Date() }, 0);
}

test(`a store of ${GROUPS} groups is restored, served and written again within a ${HEAP_MIB} MiB heap`, async () => {
  const file = path.join(dir, 'store.data');
  await writeStore(file);
  const env = { ...process.env, NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` };
  server = await startServer('ours', [`--persistence.file=${file}`, '--persistence.interval=1h'], {
    env,
    timeoutMs: 40_000,
  });
  assert.match(server.output(), new RegExp(`msg="metrics restored" .*groups=${GROUPS}\\b`));

  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(res.status, 200);
  const scrape = await res.text();
  assert.equal(scrape.match(/^push_time_seconds\{/gm)?.length, GROUPS);
  assert.match(scrape, /^requests\{instance="host-029999",job="restore",path="\/api\/items\/4",status="200"\} 1004$/m);

  // SIGTERM writes the snapshot again, in the same heap (given longer than the helper's 5 s).
  const { proc } = server;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, server.output().slice(-3000));
  let groups = 0;
  await readSnapshot(file, () => groups++);
  assert.equal(groups, GROUPS);
});
