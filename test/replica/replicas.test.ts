// Replicas on Redis (docs/replicas.md), as real processes: a redis-server and gateways started
// with --storage.redis.url on free loopback ports, stopped by the PIDs we started.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { send } from '../support/http.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { startRedis } from '../support/redis.js';
import { cluster, pushedLines, stopCluster, tracked, within } from './cluster.js';

after(stopCluster);

const push = (gw: RunningServer, path: string, body: string, method = 'POST') =>
  send(gw.url, method, `/metrics${path}`, body);

test('a push, a replace and a delete on one replica show on every other, in the same scrape', async () => {
  const { gws } = await cluster(3);
  const [a, b, c] = gws;
  assert.equal((await push(a, '/job/j/instance/i', '# TYPE x gauge\nx{l="1"} 1\n')).status, 200);
  await within(2000, async () => (await pushedLines(b)).includes('x{instance="i",job="j",l="1"} 1'), 'push seen on b');
  assert.equal((await push(c, '/job/j/instance/i', 'y 2\n', 'PUT')).status, 200);
  assert.equal((await push(b, '/job/k', 'z 3\n')).status, 200);
  assert.equal((await send(a.url, 'DELETE', '/metrics/job/k')).status, 202);
  await within(
    2000,
    async () => {
      const [la, lb, lc] = await Promise.all(gws.map(pushedLines));
      return la === lb && lb === lc && la.includes('y{instance="i",job="j"} 2') && !la.includes('job="k"');
    },
    'all three scrapes equal',
  );
  const la = await pushedLines(a);
  assert.ok(!la.includes('x{'), 'the PUT replaced x');
  // The JSON API of every replica shows the same groups.
  const groups = await Promise.all(
    gws.map(async (g) => {
      const json = JSON.parse((await send(g.url, 'GET', '/api/v1/metrics')).body.toString()) as {
        data: Array<{ labels: Record<string, string> }>;
      };
      return json.data.map((d) => d.labels);
    }),
  );
  assert.deepEqual(groups[1], groups[0]);
  assert.deepEqual(groups[2], groups[0]);
  assert.deepEqual(groups[0], [{ instance: 'i', job: 'j' }]);
  // Self-metrics: b applied a's changes from the feed and timed them.
  const self = (await send(b.url, 'GET', '/metrics')).body.toString();
  assert.match(self, /^pushgateway_redis_up 1$/m);
  assert.match(self, /^pushgateway_redis_feed_lag_seconds_count [1-9]/m);
  assert.match(self, /^pushgateway_redis_commit_duration_seconds_count [1-9]/m);
});

test('conflicting pushes raced on two replicas are never both accepted', async () => {
  const { gws } = await cluster(2);
  const [a, b] = gws;
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    // Same family name, different types, different groups: only one may pass. Every other round
    // the name is held already, by a${i} alone, which changes its type while b${i} adds it.
    if (i % 2 === 1) assert.equal((await push(a, `/job/a${i}`, `# TYPE race${i} gauge\nrace${i} 0\n`)).status, 200);
    const [ra, rb] = await Promise.all([
      push(a, `/job/a${i}`, `# TYPE race${i} counter\nrace${i} 1\n`, 'PUT'),
      push(b, `/job/b${i}`, `# TYPE race${i} gauge\nrace${i} 1\n`),
    ]);
    const ok = [ra.status, rb.status].filter((s) => s === 200).length;
    assert.equal(ok, 1, `round ${i}: ${ra.status} ${rb.status} ${ra.body.toString()} ${rb.body.toString()}`);
    for (const r of [ra, rb]) if (r.status !== 200) assert.equal(r.status, 400);
    accepted += ok;
  }
  assert.equal(accepted, 200);
  // Both replicas show one type per name.
  await within(2000, async () => (await pushedLines(a)) === (await pushedLines(b)), 'replicas agree');
  const body = (await send(a.url, 'GET', '/metrics')).body.toString();
  for (let i = 0; i < 200; i++) assert.equal(body.split(`# TYPE race${i} `).length, 2, `race${i} has one TYPE line`);
});

test('Redis stopped: changes answer 503, scrapes go on, not ready but healthy; Redis back: all works again', async () => {
  const { redis, gws } = await cluster(2, true);
  const [a, b] = gws;
  assert.equal((await push(a, '/job/before', 'x 1\n')).status, 200);
  await within(2000, async () => (await pushedLines(b)).includes('job="before"'), 'seen on b');
  await redis.stop();
  const refused = await push(a, '/job/during', 'x 2\n');
  assert.equal(refused.status, 503);
  assert.match(refused.body.toString(), /Redis/);
  assert.equal((await send(b.url, 'DELETE', '/metrics/job/before')).status, 503);
  for (const g of gws) {
    assert.equal((await send(g.url, 'GET', '/-/healthy')).status, 200);
    await within(3000, async () => (await send(g.url, 'GET', '/-/ready')).status === 503, 'not ready');
    assert.ok((await pushedLines(g)).includes('x{instance="",job="before"} 1'), 'the last state is served');
  }
  assert.ok(!(await pushedLines(a)).includes('during'), 'nothing of the refused push applied');
  await redis.start();
  await within(5000, async () => (await push(b, '/job/after', 'x 3\n')).status === 200, 'pushes taken again');
  for (const g of gws) {
    await within(3000, async () => (await send(g.url, 'GET', '/-/ready')).status === 200, 'ready again');
  }
  await within(
    2000,
    async () => (await pushedLines(a)).includes('job="after"') && (await pushedLines(a)) === (await pushedLines(b)),
    'both replicas follow again',
  );
  const logged = a
    .output()
    .split('\n')
    .filter((l) => l.includes('Redis cannot be reached')).length;
  assert.equal(logged, 1, 'the outage is logged once');
});

test('kill -9 of a replica under load loses no acknowledged push', async () => {
  const { redis, gws } = await cluster(2);
  const [a, b] = gws;
  const acked = new Set<string>();
  let stop = false;
  const client = async (gw: RunningServer, name: string) => {
    for (let i = 0; !stop; i++) {
      const job = `${name}${i}`;
      try {
        if ((await push(gw, `/job/${job}`, `v ${i}\n`)).status === 200) acked.add(job);
      } catch {
        // the killed replica's connections fail: not acknowledged
      }
    }
  };
  const clients = [client(a, 'a'), client(a, 'aa'), client(b, 'b'), client(b, 'bb')];
  await new Promise((r) => setTimeout(r, 700));
  a.proc.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(clients);
  assert.ok(acked.size > 20, `only ${acked.size} pushes acknowledged`);
  // A replica started afterwards loads everything from Redis; b follows it.
  const c = await startServer('ours', [`--storage.redis.url=${redis.url}`]);
  tracked(c);
  for (const g of [b, c]) {
    await within(
      3000,
      async () => {
        const lines = await pushedLines(g);
        return [...acked].every((job) => lines.includes(`job="${job}"`));
      },
      'every acknowledged push on a live replica',
    );
  }
});

test('expiry runs once across replicas; an admin wipe on one empties all', async () => {
  const redis = tracked(await startRedis());
  const flags = [`--storage.redis.url=${redis.url}`, '--push.default-ttl=1s', '--web.enable-admin-api'];
  const gws = await Promise.all([startServer('ours', flags), startServer('ours', flags)]);
  gws.forEach(tracked);
  const [a, b] = gws;
  for (let i = 0; i < 5; i++) assert.equal((await push(i % 2 === 0 ? a : b, `/job/ttl${i}`, 'x 1\n')).status, 200);
  for (const g of gws) {
    await within(5000, async () => !(await pushedLines(g)).includes('ttl'), 'expired on every replica');
  }
  const expired = async (g: RunningServer) =>
    Number(
      /^pushgateway_groups_expired_total (\d+)/m.exec((await send(g.url, 'GET', '/metrics')).body.toString())?.[1],
    );
  assert.equal((await expired(a)) + (await expired(b)), 5, 'each group removed once, by one replica');
  assert.equal((await push(a, '/job/w1', 'x 1\n')).status, 200);
  assert.equal((await push(a, '/job/w2', 'x 1\n')).status, 200);
  await within(2000, async () => (await pushedLines(b)).includes('job="w2"'), 'seen on b');
  assert.equal((await send(b.url, 'PUT', '/api/v1/admin/wipe')).status, 202);
  await within(2000, async () => !(await pushedLines(a)).includes('job="w'), 'wiped on a');
});

test('kill -9 of Redis (AOF, appendfsync always) under pushes loses no acknowledged push', async () => {
  const { redis, gws } = await cluster(2, true);
  const acked = new Set<string>();
  let refused = 0;
  let stop = false;
  const client = async (gw: RunningServer, name: string) => {
    for (let i = 0; !stop; i++) {
      const job = `${name}${i}`;
      const status = (await push(gw, `/job/${job}`, `v ${i}\n`)).status;
      if (status === 200) acked.add(job);
      else if (status === 503) refused++;
      else assert.fail(`push answered ${status}`);
    }
  };
  const clients = gws.flatMap((g, k) => [client(g, `r${k}a`), client(g, `r${k}b`)]);
  await new Promise((r) => setTimeout(r, 500));
  await redis.kill();
  await new Promise((r) => setTimeout(r, 300));
  await redis.start();
  await within(5000, async () => (await send(gws[0].url, 'GET', '/-/ready')).status === 200, 'ready again');
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(clients);
  assert.ok(refused > 0, 'some pushes met the outage');
  for (const g of gws) {
    await within(
      3000,
      async () => {
        const lines = await pushedLines(g);
        return [...acked].every((job) => lines.includes(`job="${job}"`));
      },
      `every one of ${acked.size} acknowledged pushes back`,
    );
  }
});
