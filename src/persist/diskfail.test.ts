// The write-ahead log and snapshots on a disk that refuses: a file layer that runs out of room
// (ENOSPC after a set number of bytes, a write cut in the middle) or may not open files (EACCES).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseTextBytes } from '../parse/text.js';
import { MemoryStore } from '../store/memory.js';
import { view } from '../store/contract.suite.js';
import { StoreUnavailableError, type MetricStore } from '../store/types.js';
import { DurableStore, PersistenceError } from './durable.js';
import { encodeLine, type LogRecord } from './codec.js';
import { failingDisk } from '../testing/faultyfs.js';
import { listSegments, readSegment, segmentPath, WriteAheadLog, type OpenFile } from './wal.js';

function logged() {
  const lines: Array<{ msg: string; err?: string }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string }) });
  return { lines, log, count: (msg: string) => lines.filter((l) => l.msg.includes(msg)).length };
}

async function setup(sync = true, intervalMs = 3_600_000) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgw-diskfail-'));
  const file = path.join(dir, 'metrics.data');
  const d = failingDisk();
  const l = logged();
  const open = (openFile?: OpenFile) =>
    DurableStore.open(new MemoryStore(), { file, intervalMs, sync, startEmptyOnError: false, log: l.log, openFile });
  return { dir, file, d, l, open, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function push(store: MetricStore, job: string, body: string, replace = true) {
  return store.write({
    labels: { job },
    families: parseTextBytes(Buffer.from(body)),
    replace,
    check: true,
    timestampMs: 1_700_000_000_000,
  });
}

const DOWN = 'cannot write the write-ahead log';
const probeWait = () => new Promise((r) => setTimeout(r, 1100));

test('a write the log cannot take is refused, not shown, not replayed; writes come back with room', async () => {
  const t = await setup();
  try {
    const store = await t.open(t.d.open);
    assert.deepEqual(await push(store, 'kept', 'a 1\n'), { ok: true });
    const before = view(store);
    // Room for part of the next record only: the write is cut in the middle of its line.
    t.d.state.room = 10;
    await assert.rejects(push(store, 'lost', 'b 2\n'), (e: Error) => {
      assert.ok(e instanceof StoreUnavailableError, String(e));
      assert.match(e.message, /ENOSPC: no space left on device.*not applied/);
      return true;
    });
    assert.deepEqual(view(store), before, 'the refused write is not shown');
    // Refused before applying while the disk is full (no new probe within a second), logged once.
    await assert.rejects(push(store, 'kept', 'a 5\n'), StoreUnavailableError);
    await assert.rejects(store.delete({ job: 'kept' }), StoreUnavailableError);
    assert.deepEqual(view(store), before);
    assert.equal(t.l.count(DOWN), 1);
    // A crash now: the log holds the accepted write only, and no torn line before the next one.
    // (A store opened only to look is not closed: its final snapshot would drop the log.)
    assert.deepEqual(view(await t.open()), before);

    // Still full after a second: the probe fails, the write is refused without a new log line.
    await probeWait();
    await assert.rejects(push(store, 'lost', 'b 3\n'), StoreUnavailableError);
    assert.equal(t.l.count(DOWN), 1);

    t.d.state.room = Infinity;
    await probeWait();
    assert.deepEqual(await push(store, 'back', 'c 4\n'), { ok: true });
    assert.equal(t.l.count('persistence recovered'), 1);
    const shown = view(store);
    const reopened = await t.open();
    assert.deepEqual(view(reopened), shown);
    assert.deepEqual([...reopened.groups()].map((g) => g.labels.job).sort(), ['back', 'kept']);
    const records = [];
    for (const seq of await listSegments(t.file)) records.push(...(await readSegment(segmentPath(t.file, seq))));
    assert.equal(records.length, 2, 'the log holds the two accepted writes and nothing of the refused ones');
    await store.close();
  } finally {
    await t.cleanup();
  }
});

test('writes sharing a failed batch all fail, a POST on top of a refused PUT too; the store is put back', async () => {
  const t = await setup();
  try {
    const store = await t.open(t.d.open);
    await push(store, 'g', 'a 1\n');
    const before = view(store);
    t.d.state.room = 0;
    const results = await Promise.allSettled([
      push(store, 'g', 'a 2\n'),
      push(store, 'g', 'b 3\n', false),
      push(store, 'h', 'c 4\n'),
      store.delete({ job: 'g' }),
    ]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof StoreUnavailableError, String(r.reason));
    }
    assert.deepEqual(view(store), before);
    await store.close();
    const reopened = await t.open();
    assert.deepEqual(view(reopened), before);
    await reopened.close();
  } finally {
    await t.cleanup();
  }
});

test('a record written in an earlier batch stays acknowledged when a later batch fails', async () => {
  const t = await setup();
  try {
    const wal = new WriteAheadLog(t.file, 1, t.d.open);
    const first: LogRecord = { delete: { job: 'early' } };
    const t1 = wal.append(first);
    const p1 = wal.flush(t1); // its batch is taken now
    const t2 = wal.append({ delete: { job: 'late' } });
    t.d.state.room = Buffer.byteLength(encodeLine(first));
    const both = wal.flush();
    const again = wal.flush(t1); // asked after the second record came: still only its own
    await p1;
    await again;
    await assert.rejects(both, /ENOSPC/);
    await assert.rejects(wal.flush(t2), /ENOSPC/);
    assert.deepEqual(await readSegment(segmentPath(t.file, 1)), [first]);
    await wal.close();
  } finally {
    await t.cleanup();
  }
});

test('an unwritable directory stops the start with a sentence; a full disk at start does not', async () => {
  const t = await setup();
  try {
    t.d.state.deny = true;
    await assert.rejects(t.open(t.d.open), (e: Error) => {
      assert.ok(e instanceof PersistenceError);
      assert.match(e.message, /^cannot write in .*the directory of --persistence\.file: EACCES.*refusing to start$/);
      return true;
    });
    t.d.state.deny = false;
    t.d.state.room = 0;
    const store = await t.open(t.d.open);
    assert.equal(t.l.count(DOWN), 1);
    await assert.rejects(push(store, 'g', 'a 1\n'), StoreUnavailableError);
    assert.equal(store.groupCount, 0);
    assert.deepEqual(store.health(), { healthy: true, ready: true });
    t.d.state.room = Infinity;
    await probeWait();
    assert.deepEqual(await push(store, 'g', 'a 1\n'), { ok: true });
    await store.close();
  } finally {
    await t.cleanup();
  }
});

test('the log losing the right to open its segment mid-run (EACCES) refuses writes the same way', async () => {
  const t = await setup();
  try {
    const store = await t.open(t.d.open);
    await push(store, 'g', 'a 1\n');
    // A snapshot moves the log to a new segment, which cannot be opened.
    await store.persist();
    t.d.state.deny = true;
    await assert.rejects(push(store, 'g', 'a 2\n'), /EACCES/);
    assert.equal(
      store
        .group([...store.groups()][0].id)!
        .families.get('a')!
        .lines(),
      'a{instance="",job="g"} 1\n',
    );
    await store.close();
  } finally {
    await t.cleanup();
  }
});

test('default mode: a failing snapshot keeps the old file, is logged once, retried, recovers', async () => {
  const t = await setup(false, 50);
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(what());
  };
  try {
    const store = await t.open();
    await push(store, 'g', 'a 1\n');
    await until(() => t.l.count('metrics persisted') === 1);
    const old = await fs.readFile(t.file);
    // The snapshot's temporary file cannot be written: a directory stands where it goes.
    const tmp = path.join(t.dir, `.metrics.data.in_progress.${process.pid}`);
    await fs.mkdir(tmp);
    await push(store, 'g', 'a 2\n');
    await until(() => t.l.count('cannot write the persistence file') === 1);
    await new Promise((r) => setTimeout(r, 300)); // several more intervals, each failing
    assert.equal(t.l.count('cannot write the persistence file'), 1);
    assert.deepEqual(await fs.readFile(t.file), old);
    assert.deepEqual(await push(store, 'h', 'b 1\n'), { ok: true }, 'writes go on');
    await fs.rmdir(tmp);
    await until(() => t.l.count('persistence recovered') === 1);
    await store.close();
    const reopened = await t.open();
    assert.equal(
      [...reopened.groups()]
        .find((g) => g.labels.job === 'g')!
        .families.get('a')!
        .lines(),
      'a{instance="",job="g"} 2\n',
    );
    await reopened.close();
  } finally {
    await t.cleanup();
  }
});
