// Group expiry across restarts: TTLs and push times come back from the snapshot and the log,
// groups whose deadline passed while the gateway was down are removed at start (and logged with
// their count), and removals by expiry are replayed in their place among the log's writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { MetricFamily } from '../model.js';
import { MemoryStore } from '../store/memory.js';
import type { MetricStore } from '../store/types.js';
import { DurableStore } from './durable.js';
import { listSegments, readSegment, segmentPath } from './wal.js';

function logged() {
  const lines: Array<{ msg: string; groups?: number }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string }) });
  return { lines, log };
}

const EXPIRED_AT_START = 'groups whose TTL ran out while the gateway was down removed';

async function open(file: string, sync: boolean) {
  const inner = new MemoryStore();
  const l = logged();
  const store = await DurableStore.open(inner, {
    file,
    intervalMs: 60_000,
    sync,
    startEmptyOnError: false,
    log: l.log,
  });
  return { store, inner, lines: l.lines };
}

const fam = (name: string): MetricFamily => ({ name, type: 'gauge', metrics: [{ labels: [], value: 1 }] });

function push(store: MetricStore, job: string, name: string, ttlMs?: number, replace = true) {
  return store.write({ labels: { job }, families: [fam(name)], replace, check: true, ttlMs });
}

const jobs = (s: MetricStore) => [...s.groups()].map((g) => g.labels.job).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const sync of [false, true]) {
  const mode = sync ? 'write-ahead log, after a crash' : 'snapshot, after a clean stop';
  test(`${mode}: groups past their deadline are removed at start and counted; the rest keep their TTL`, async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pgw-expiry-')), 'metrics.data');
    const first = await open(file, sync);
    await push(first.store, 'short', 'x', 300);
    await push(first.store, 'long', 'x', 3_600_000);
    await push(first.store, 'plain', 'x');
    const deadline = first.store.expiry.deadline([...first.store.groups()].find((g) => g.labels.job === 'long')!);
    // Down before the short TTL runs out: a crash leaves only the log (its timers stopped here).
    if (sync) await first.inner.close();
    else await first.store.close();
    await sleep(400);
    const second = await open(file, sync);
    assert.deepEqual(jobs(second.store), ['long', 'plain']);
    assert.deepEqual(
      second.lines.filter((l) => l.msg === EXPIRED_AT_START).map((l) => l.groups),
      [1],
    );
    const long = [...second.store.groups()].find((g) => g.labels.job === 'long')!;
    assert.equal(long.ttlMs, 3_600_000);
    assert.equal(second.store.expiry.deadline(long), deadline);
    assert.equal(second.store.expiry.expired, 1);
    await second.store.close();
  });
}

test('write-ahead log: a removal by expiry is replayed between the writes around it', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pgw-expiry-')), 'metrics.data');
  const first = await open(file, true);
  await push(first.store, 'g', 'old', 200);
  const start = Date.now();
  while (jobs(first.store).includes('g')) {
    assert.ok(Date.now() - start < 5000);
    await sleep(20);
  }
  // Pushed again (POST, no TTL of its own): a group of its own, without the old family.
  await push(first.store, 'g', 'new', undefined, false);
  await first.inner.close(); // crash
  const second = await open(file, true);
  const g = [...second.store.groups()].find((x) => x.labels.job === 'g')!;
  assert.deepEqual([...g.families.keys()].sort(), ['new', 'push_failure_time_seconds', 'push_time_seconds']);
  assert.equal(g.ttlMs, undefined);
  assert.equal(second.lines.filter((l) => l.msg === EXPIRED_AT_START).length, 0);
  await second.store.close();
});

test('write-ahead log: a removal by expiry is written at once, not when the next push flushes the log', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pgw-expiry-')), 'metrics.data');
  const first = await open(file, true);
  await push(first.store, 'g', 'x', 200);
  await push(first.store, 'stays', 'x');
  const start = Date.now();
  while (jobs(first.store).includes('g')) {
    assert.ok(Date.now() - start < 5000, 'the group did not expire');
    await sleep(20);
  }
  // No push follows: the removal's record must reach the log by itself.
  const logged = async () => {
    for (const seq of await listSegments(file)) {
      for (const rec of await readSegment(segmentPath(file, seq))) if ('delete' in rec) return true;
    }
    return false;
  };
  while (!(await logged())) {
    assert.ok(Date.now() - start < 5000, 'the removal was not written to the log');
    await sleep(20);
  }
  await first.inner.close(); // crash
  const second = await open(file, true);
  assert.deepEqual(jobs(second.store), ['stays']);
  // Replayed from the log, not found due again at start.
  assert.equal(second.lines.filter((l) => l.msg === EXPIRED_AT_START).length, 0);
  await second.store.close();
});
