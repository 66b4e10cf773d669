// The Redis snapshot written a part at a time (docs/replicas.md): no script carries the whole
// state, and a replica that loads while a snapshot is half written loads the same state; the load
// reads it in slices and widens the heap's growth step meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import { view } from '../store/contract.suite.js';
import { groupId } from '../store/grouping.js';
import type { MetricFamily } from '../model.js';
import { startRedis, type RunningRedis } from '../../test/support/redis.js';
import { encodeLine } from './codec.js';
import { RedisStore } from './redis.js';
import { freezeGroups } from './snapshot.js';

const open = (redis: RunningRedis, compactMs: number) =>
  RedisStore.open(
    { url: redis.url, log: pino({ level: 'silent' }), compactMs, leaseMs: 600 },
    (remove) => new MemoryStore(undefined, undefined, undefined, { remove }),
  );

const family = (name: string, series: number, value: number): MetricFamily[] => [
  {
    name,
    type: 'gauge',
    metrics: Array.from({ length: series }, (_, i) => ({ labels: [{ name: 'series', value: `s${i}` }], value })),
  },
];

/** Sends commands over a raw socket and collects what Redis answers (MONITOR's lines, for one). */
function rawRedis(port: number, command: string): { socket: Socket; lines: () => string[] } {
  const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(command));
  let out = '';
  socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
  socket.on('error', () => undefined);
  return { socket, lines: () => out.split('\r\n') };
}

function redisCommand(port: number, args: string[]): Promise<string> {
  const command = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const { socket, lines } = rawRedis(port, command);
    socket.on('data', () => {
      const l = lines();
      if (l.length < 2 || (l[0].startsWith('$') && l[0] !== '$-1' && l.length < 3)) return;
      socket.destroy();
      resolve(l[0].startsWith('$') ? (l[0] === '$-1' ? '' : l[1]) : l[0].slice(1));
    });
    socket.on('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    assert.ok(i < 400, `${what}: not within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a snapshot of the whole state goes to Redis in parts, none holding it all', async () => {
  const redis = await startRedis();
  let monitor: ReturnType<typeof rawRedis> | undefined;
  const stores: RedisStore[] = [];
  try {
    // Filled without snapshots; a second replica loads it from the feed and writes the first.
    const filler = await open(redis, 3_600_000);
    stores.push(filler);
    const groups = 2000;
    await Promise.all(
      Array.from({ length: groups }, (_, g) =>
        filler.write({
          labels: { job: 'j', instance: `i${g}` },
          families: family('x', 10, g),
          replace: true,
          check: true,
        }),
      ),
    );
    const version = filler.redisVersion;
    await stores.shift()!.close();
    monitor = rawRedis(redis.port, 'MONITOR\r\n');
    const snapshotter = await open(redis, 50);
    stores.push(snapshotter);
    await until(
      'the snapshot',
      async () => Number(await redisCommand(redis.port, ['GET', 'pushgateway:snapshot-version'])) >= version,
    );
    // Read back in slices of 500 groups, each asked for while the one before is decoded.
    const loader = await open(redis, 3_600_000);
    stores.push(loader);
    assert.equal(loader.groupCount, groups);
    assert.deepEqual(view(loader), view(snapshotter));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    const parts = monitor
      .lines()
      .filter((l) => l.includes('"pushgateway:snapshot"') && l.includes('"EVALSHA"'))
      .map((l) => l.length);
    const stored = Number(await redisCommand(redis.port, ['MEMORY', 'USAGE', 'pushgateway:snapshot']));
    assert.ok(stored > 1_000_000, `the snapshot holds ${stored} bytes`);
    assert.ok(parts.length >= 4, `${parts.length} parts`);
    assert.ok(Math.max(...parts) < stored / 2, `parts of ${parts.join(', ')} bytes for ${stored}`);
    assert.equal(Number(await redisCommand(redis.port, ['HLEN', 'pushgateway:snapshot'])), groups);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    monitor?.socket.destroy();
    await redis.cleanup();
  }
});

test('a replica that loads while a snapshot is half written loads the same state', async () => {
  const redis = await startRedis();
  const first = await open(redis, 50);
  const replicas: RedisStore[] = [];
  try {
    const write = (instance: string, families: MetricFamily[], replace = true, ttlMs?: number) =>
      first.write({
        labels: { job: 'j', instance },
        families,
        replace,
        check: true,
        ...(ttlMs === undefined ? {} : { ttlMs }),
      });
    for (let g = 0; g < 8; g++) await write(`i${g}`, family('x', 3, g));
    await write('i0', family('y', 1, 0), false);
    const at = first.redisVersion;
    await until(
      'the snapshot',
      async () => Number(await redisCommand(redis.port, ['GET', 'pushgateway:snapshot-version'])) >= at,
    );
    // Stop snapshots from here on: the lease goes to an id that no replica has.
    await redisCommand(redis.port, ['SET', 'pushgateway:expiry-lease', 'elsewhere', 'PX', '60000']);
    await new Promise((r) => setTimeout(r, 300));
    const since = await redisCommand(redis.port, ['GET', 'pushgateway:snapshot-version']);

    // Changes after the snapshot, each of a kind a replay must leave as it is when the group holds it already.
    await write('i0', family('x', 2, 10)); // a replace that drops y
    await write('i1', family('z', 1, 11), false); // a family added
    await write('i1', family('x', 1, 12), false); // and one replaced
    await first.delete({ job: 'j', instance: 'i2' }); // gone
    await first.delete({ job: 'j', instance: 'i3' });
    await write('i3', family('w', 1, 13)); // gone, then back
    await write('i4', [{ name: 'x', type: 'counter', metrics: [{ labels: [], value: 1 }] }]); // refused: x is a gauge
    await write('new', family('x', 1, 14), true, 60_000); // new, with a TTL
    await write('i5', family('x', 4, 15));
    await write('i5', family('v', 1, 16), false, 30_000);

    // What a lease holder leaves behind when it dies after the first part of a snapshot: some
    // groups as they are now, the version still the old one.
    const byInstance = new Map([...first.groups()].map((g) => [g.labels.instance, g]));
    const done = ['i0', 'i1', 'i3', 'i4', 'i5', 'new'].map((i) => byInstance.get(i)!);
    const records = freezeGroups(done).groups.map((f) => encodeLine(f.record()));
    for (const [i, g] of done.entries())
      await redisCommand(redis.port, ['HSET', 'pushgateway:snapshot', g.id, records[i]]);
    assert.equal(byInstance.get('i2'), undefined);
    assert.equal(
      await redisCommand(redis.port, ['HDEL', 'pushgateway:snapshot', groupId({ job: 'j', instance: 'i2' })]),
      '1',
    );
    assert.equal(await redisCommand(redis.port, ['GET', 'pushgateway:snapshot-version']), since);

    const second = await open(redis, 3_600_000);
    replicas.push(second);
    assert.equal(second.redisVersion, first.redisVersion);
    assert.deepEqual(view(second), view(first));
    assert.deepEqual(
      [...second.groups()].map((g) => [g.labels.instance, g.ttlMs]).sort(),
      [...first.groups()].map((g) => [g.labels.instance, g.ttlMs]).sort(),
    );
  } finally {
    await Promise.all(replicas.map((r) => r.close()));
    await first.close();
    await redis.cleanup();
  }
});

test('loading the whole state widens the heap growth step while it runs, and gives it back', async () => {
  const redis = await startRedis();
  const steps: string[] = [];
  const heapRoom = { lease: () => ({ widen: () => steps.push('widen'), release: () => steps.push('release') }) };
  try {
    const store = await RedisStore.open(
      { url: redis.url, log: pino({ level: 'silent' }), heapRoom },
      (remove) => new MemoryStore(undefined, undefined, undefined, { remove }),
    );
    assert.deepEqual(steps, ['widen', 'release']);
    await store.close();
  } finally {
    await redis.cleanup();
  }
});
