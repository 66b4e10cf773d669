// The Go Pushgateway's persistence file. testdata/pushgateway-1.5.1.gob was written by Debian's
// prometheus-pushgateway 1.5.1 on SIGTERM after the pushes of test/persist/migrate.test.ts
// (GOFILE_SAVE=<path> there copies it), which also runs the whole migration against the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import type { MetricStore } from '../store/types.js';
import { DurableStore, PersistenceError } from './durable.js';
import { goFileGroups, GoFileError, looksLikeGob } from './gofile.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';

const FIXTURE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../src/persist/testdata/pushgateway-1.5.1.gob',
);
const original = readFileSync(FIXTURE);
// Written by Go's encoding/gob from the reference's storage types (test/persist/gofile/main.go).
const ZONES = readFileSync(path.join(path.dirname(FIXTURE), 'zones.gob'));
const log = pino({ level: 'silent' });

test('the groups of a file the reference wrote, with their families as it stored them', () => {
  const { groups, skipped } = goFileGroups(original, 'f');
  assert.equal(skipped, 0);
  const byKey = new Map(groups.map((g) => [JSON.stringify(Object.entries(g.labels).sort()), g]));
  const group = (labels: Record<string, string>) => {
    const g = byKey.get(JSON.stringify(Object.entries(labels).sort()));
    assert.ok(g, `group ${JSON.stringify(labels)} among ${[...byKey.keys()].join(' ')}`);
    return new Map(g.families.map((fr) => [('family' in fr ? fr.family : undefined)!.name, fr]));
  };
  assert.equal(groups.length, 6);
  const text = group({ job: 'text', instance: 'a' });
  assert.deepEqual([...text.keys()].sort(), [
    'jobs_total',
    'latency_seconds',
    'plain_untyped',
    'push_failure_time_seconds',
    'push_time_seconds',
    'size_bytes',
    'temperature',
  ]);
  const jobs = text.get('jobs_total')!;
  assert.ok('family' in jobs);
  assert.equal(jobs.family.type, 'counter');
  assert.equal(jobs.family.help, 'Jobs done.');
  assert.deepEqual(
    jobs.family.metrics.map((m) => [m.labels.map((l) => `${l.name}=${l.value}`).join(','), m.value]),
    [
      ['instance=a,job=text,queue=a', 10],
      ['instance=a,job=text,queue=', 2],
    ],
  );
  const pushed = text.get('push_time_seconds')!;
  const failed = text.get('push_failure_time_seconds')!;
  assert.ok('family' in pushed && 'family' in failed);
  // The push that failed came after the one that succeeded; both times are the families' too.
  const pushedAt = pushed.family.metrics[0].value! * 1000;
  const failedAt = failed.family.metrics[0].value! * 1000;
  assert.ok(pushedAt > 1.7e12 && failedAt > pushedAt, `${pushedAt} ${failedAt}`);
  assert.ok(Math.abs(pushed.timestampMs - pushedAt) < 1e-3, `${pushed.timestampMs} ${pushedAt}`);
  assert.ok(Math.abs(failed.timestampMs - failedAt) < 1e-3);

  const native = group({ job: 'native' }).get('batch_size')!;
  assert.ok('family' in native);
  const h = native.family.metrics[0].histogram!;
  assert.deepEqual(
    [h.schema, h.zeroThreshold, h.zeroCount, h.positiveSpans, h.positiveDeltas, h.negativeDeltas],
    [
      0,
      0.001,
      1,
      [
        { offset: 1, length: 2 },
        { offset: 2, length: 1 },
      ],
      [1, 1, -1],
      [1],
    ],
  );
  group({ job: 'a/b', path: '' });
  group({ job: 'text', instance: 'ü x' });
  // A group only a failed push made: its push time is 0.
  const failedOnly = group({ job: 'failed_only' }).get('push_time_seconds')!;
  assert.ok('family' in failedOnly);
  assert.equal(failedOnly.family.metrics[0].value, 0);
});

test('times in any zone (binary versions 1 and 2), zero times and families without protobuf', () => {
  const { groups, skipped } = goFileGroups(ZONES, 'f');
  assert.equal(skipped, 1, 'the family without its protobuf is skipped, as the reference skips it');
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0].labels, { job: 'zoned' });
  const times = Object.fromEntries(
    groups[0].families.map((fr) => [('family' in fr ? fr.family : undefined)!.name, fr]),
  );
  assert.deepEqual(Object.keys(times).sort(), ['old_time', 'up', 'zero_time']);
  // 2024-02-29 23:59:58.987654321 at UTC-03:30:15.
  assert.ok(Math.abs(times.up.timestampMs - (Date.UTC(2024, 2, 1, 3, 30, 13) + 987.654321)) < 1e-3);
  assert.equal(times.zero_time.timestampMs, 0);
  assert.equal(times.old_time.timestampMs, -500);
  const up = times.up;
  assert.ok('family' in up);
  assert.deepEqual(up.family.metrics[0].labels, [{ name: 'job', value: 'zoned' }]);
  assert.equal(up.family.metrics[0].value, 1);
});

test('a Go file is told from ours by its first bytes', async () => {
  assert.equal(looksLikeGob(original.subarray(0, 16)), true);
  const ours = path.join(mkdtempSync(path.join(tmpdir(), 'pgw-ours-')), 'ours.data');
  const groups = goFileGroups(original, 'f').groups.map((g) => ({ record: () => g }));
  await writeSnapshot(ours, { groups, takenAt: new Date() }, 0);
  assert.equal(looksLikeGob(readFileSync(ours).subarray(0, 16)), false);
  rmSync(path.dirname(ours), { recursive: true, force: true });
  assert.equal(looksLikeGob(new Uint8Array(0)), false);
  assert.equal(looksLikeGob(Buffer.from('x')), false);
});

test('a damaged file is a GoFileError naming the file and a byte inside it, wherever it is cut or changed', () => {
  const check = (bytes: Uint8Array, what: string) => {
    try {
      goFileGroups(bytes, '/d/metrics');
    } catch (e) {
      assert.ok(e instanceof GoFileError, `${what}: ${String(e)}`);
      const m = /^persistence file \/d\/metrics \(a Go Pushgateway file\) is damaged at byte (\d+): ./.exec(e.message);
      assert.ok(m, `${what}: ${e.message}`);
      assert.ok(Number(m[1]) <= bytes.length, `${what}: ${e.message}`);
      return 'refused';
    }
    return 'read';
  };
  for (let n = 0; n < original.length; n += n < 200 ? 1 : 37) {
    assert.equal(check(original.subarray(0, n), `cut at ${n}`), 'refused', `cut at ${n}`);
  }
  let refused = 0;
  for (let i = 0; i < original.length; i += 97) {
    const changed = Buffer.from(original);
    changed[i] ^= 0x5a;
    if (check(changed, `byte ${i} changed`) === 'refused') refused++;
  }
  assert.ok(refused > 0);
});

test('the store opens on a Go file, keeps it as .go-backup, and replaces it with a snapshot of its own', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-gofile-'));
  try {
    const file = path.join(dir, 'metrics');
    copyFileSync(FIXTURE, file);
    const open = () =>
      DurableStore.open(new MemoryStore(), { file, intervalMs: 60_000, sync: true, startEmptyOnError: false, log });
    const shown = (s: MetricStore) =>
      [...s.groups()].map((g) => [g.id, [...g.families.values()].map((f) => f.name + f.lines())]).sort();
    const first = await open();
    const imported = shown(first);
    assert.equal(imported.length, 6);
    assert.deepEqual(readFileSync(`${file}.go-backup`), original);
    assert.deepEqual(readFileSync(file), original, 'the original stays in place until a snapshot replaces it');
    // A push, then a crash before any snapshot: the Go file and the log give everything back.
    const ok = await first.write({ labels: { job: 'later' }, families: [], replace: true, check: true });
    assert.deepEqual(ok, { ok: true });
    const second = await open();
    assert.equal(second.groupCount, 7);
    await second.close();
    assert.deepEqual([...readFileSync(file).subarray(0, 2)], [0x1f, 0x8b], 'our gzip-compressed snapshot');
    let groups = 0;
    await readSnapshot(file, () => groups++);
    assert.equal(groups, 7);
    const third = await open();
    assert.deepEqual(
      shown(third).filter(([id]) => !String(id).includes('later')),
      imported,
    );
    await third.close();
    await first.close().catch(() => undefined);
    assert.deepEqual(readFileSync(`${file}.go-backup`), original);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged Go file stops the start as a damaged file of ours does, and no backup is made of it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-gofile-'));
  try {
    const file = path.join(dir, 'metrics');
    writeFileSync(file, original.subarray(0, 1000));
    await assert.rejects(
      DurableStore.open(new MemoryStore(), { file, intervalMs: 60_000, sync: false, startEmptyOnError: false, log }),
      (e: unknown) =>
        e instanceof PersistenceError &&
        /\(a Go Pushgateway file\) is damaged at byte \d+: .*; refusing to start/.test(e.message),
    );
    assert.equal(existsSync(`${file}.go-backup`), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
