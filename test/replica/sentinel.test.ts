// Replicas on Redis with Sentinel (docs/replicas.md, "Sentinel"), as real processes: a master, three
// replicas and three Sentinels (redis-server --sentinel), each on a free loopback port with its
// own directory, and gateways that find the master through the Sentinels; all stopped by the
// PIDs we started.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { send } from '../support/http.js';
import { OURS_MAIN, startServer, type RunningServer } from '../support/servers.js';
import { askRedis, startRedis, startSentinels, type RunningRedis } from '../support/redis.js';

const NAME = 'pgw';
const PASSWORD = 'master-secret';
const SENTINEL_PASSWORD = 'sentinel-secret';

const started: Array<RunningServer | RunningRedis> = [];
const dirs: string[] = [];
after(async () => {
  for (const s of started.reverse()) await ('cleanup' in s ? s.cleanup() : s.stop());
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One answer of a Redis (or Sentinel) at `port`. */
function ask(port: number, password: string, command: string[]): Promise<unknown> {
  return askRedis(port, command, { password });
}

/** Polls until `check` holds (every 50 ms, at most `ms`). */
async function within(ms: number, check: () => Promise<boolean>, what: string): Promise<void> {
  const start = Date.now();
  while (!(await check().catch(() => false))) {
    assert.ok(Date.now() - start < ms, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Cluster {
  master: RunningRedis;
  sentinels: RunningRedis[];
  flags: (name: string) => string[];
}

let shared: Promise<Cluster> | undefined;
/**
 * The master, three replicas (so that after two failovers the master still has one to acknowledge
 * at once) and three Sentinels that know all of them and each other.
 */
function cluster(): Promise<Cluster> {
  shared ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pgw-sentinel-test-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'password'), `${PASSWORD}\n`);
    await writeFile(path.join(dir, 'sentinel-password'), `${SENTINEL_PASSWORD}\n`);
    const master = await startRedis({ password: PASSWORD });
    started.push(master);
    const replicas = await Promise.all(
      [1, 2, 3].map(() => startRedis({ password: PASSWORD, extra: ['--replicaof', '127.0.0.1', String(master.port)] })),
    );
    started.push(...replicas);
    const sentinels = await startSentinels(master, {
      name: NAME,
      password: SENTINEL_PASSWORD,
      masterPassword: PASSWORD,
    });
    started.push(...sentinels);
    // A failover needs the replicas in sync and every Sentinel knowing both replicas and the others.
    await within(
      20_000,
      async () => {
        const info = String(await ask(master.port, PASSWORD, ['INFO', 'replication']));
        if (!/connected_slaves:3/.test(info) || (info.match(/state=online/g) ?? []).length !== 3) return false;
        for (const s of sentinels) {
          const fields = (await ask(s.port, SENTINEL_PASSWORD, ['SENTINEL', 'MASTER', NAME])) as string[];
          const f = (k: string) => fields[fields.indexOf(k) + 1];
          if (f('num-slaves') !== '3' || f('num-other-sentinels') !== '2') return false;
        }
        return true;
      },
      'replicas in sync and Sentinels aware of each other',
    );
    const flags = (name: string) => [
      `--storage.redis.sentinels=${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
      `--storage.redis.master-name=${name}`,
      `--storage.redis.password-file=${path.join(dir, 'password')}`,
      `--storage.redis.sentinel-password-file=${path.join(dir, 'sentinel-password')}`,
      '--storage.redis.min-replicas-acked=1',
    ];
    return { master, sentinels, flags };
  })();
  return shared;
}

test('a master name no Sentinel knows stops the start with a clear message', async () => {
  const { flags } = await cluster();
  const r = spawnSync(process.execPath, [OURS_MAIN, '--web.listen-address=127.0.0.1:0', ...flags('nosuch')], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error: no Redis Sentinel knows a master named "nosuch" \(asked 127\.0\.0\.1:\d+: no master/);
  assert.match(r.stderr, /--storage\.redis\.master-name/);
});

/** The pushed groups (instance label of job="load") a gateway's scrape shows. */
async function loadGroups(gw: RunningServer): Promise<Set<string>> {
  const body = (await send(gw.url, 'GET', '/metrics')).body.toString();
  return new Set([...body.matchAll(/^x\{instance="([^"]+)",job="load"\} /gm)].map((m) => m[1]));
}

/**
 * Pushes from 4 loops, each push a new group, until `stop`; records what was acknowledged and
 * refused (anything but 200 or 503 fails), and when the first push sent after `mark()` succeeded.
 */
function pushLoad(gw: RunningServer) {
  const state = { acked: [] as string[], refused: [] as string[], markedAt: 0, firstAfter: 0, ackedAfter: 0 };
  let stop = false;
  const worker = async (w: number) => {
    for (let n = 0; !stop; n++) {
      const instance = `${w}-${n}-${Date.now()}`;
      const sentAt = Date.now();
      const r = await send(gw.url, 'PUT', `/metrics/job/load/instance/${instance}`, `x ${n}\n`);
      if (r.status === 200) {
        state.acked.push(instance);
        if (state.markedAt > 0 && sentAt > state.markedAt) {
          state.ackedAfter++;
          state.firstAfter ||= Date.now();
        }
      } else {
        assert.equal(r.status, 503, `push ${instance}: ${r.status} ${r.body.toString()}`);
        state.refused.push(r.body.toString());
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  const running = Promise.all([0, 1, 2, 3].map(worker));
  return {
    state,
    mark: () => (state.markedAt = Date.now()),
    stop: async () => {
      stop = true;
      await running;
    },
  };
}

/** Every acknowledged push is on each of `gws`; the missing are reported. */
async function allThere(t: { diagnostic: (m: string) => void }, acked: string[], gws: RunningServer[]): Promise<void> {
  for (const [k, g] of gws.entries()) {
    const shown = await loadGroups(g);
    const missing = acked.filter((i) => !shown.has(i));
    t.diagnostic(`gateway ${k + 1} of ${gws.length}: ${missing.length} missing of ${acked.length} acknowledged`);
    assert.deepEqual(missing, [], 'acknowledged pushes missing after the failover');
  }
}

test('kill -9 of the master under pushes (min-replicas-acked=1): failover followed, none acked lost', async (t) => {
  const { master, flags } = await cluster();
  const gw = await startServer('ours', flags(NAME));
  started.push(gw);
  const load = pushLoad(gw);
  const { state } = load;
  try {
    await within(10_000, async () => state.acked.length >= 50, '50 pushes before the kill');
    load.mark();
    await master.kill();
    await within(40_000, async () => state.ackedAfter >= 20, '20 pushes acknowledged after the failover');
  } finally {
    await load.stop();
  }
  assert.ok(state.refused.length > 0, 'pushes during the failover are refused');
  const unclear = state.refused.find((m) => !/Redis/.test(m));
  assert.equal(unclear, undefined, 'every refusal says why');
  // On the gateway that took them, and in the new master: a gateway started now loads what it holds.
  const fresh = await startServer('ours', flags(NAME));
  started.push(fresh);
  await allThere(t, state.acked, [gw, fresh]);
  t.diagnostic(
    `kill -9 of the master to the first acknowledged push: ${state.firstAfter - state.markedAt} ms; ` +
      `${state.refused.length} pushes refused (503)`,
  );
  // Up again by itself: a command still running on the old master's clients when they were
  // replaced may report its failure after the new master was reached (up again at the next read).
  const self = async () => (await send(gw.url, 'GET', '/metrics')).body.toString();
  await within(10_000, async () => /^pushgateway_redis_up 1$/m.test(await self()), 'pushgateway_redis_up 1');
  assert.match(await self(), /^pushgateway_redis_reloads_total [1-9]/m);
  await gw.stop();
});

test('a failover the Sentinels are asked for (the old master stays up, as a replica) is followed too', async (t) => {
  const { sentinels, flags } = await cluster();
  const gw = await startServer('ours', flags(NAME));
  started.push(gw);
  const masterNow = async () =>
    ((await ask(sentinels[0].port, SENTINEL_PASSWORD, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME])) as string[])[1];
  const before = await masterNow();
  const load = pushLoad(gw);
  const { state } = load;
  try {
    await within(10_000, async () => state.acked.length >= 20, '20 pushes before the failover');
    // Refused while the remaining replica is not yet in sync with the new master of the last test.
    await within(
      20_000,
      async () => (await ask(sentinels[0].port, SENTINEL_PASSWORD, ['SENTINEL', 'FAILOVER', NAME])) === 'OK',
      'failover started',
    );
    await within(20_000, async () => (await masterNow()) !== before, 'the Sentinels name another master');
    load.mark();
    await within(20_000, async () => state.ackedAfter >= 20, '20 pushes acknowledged on the new master');
  } finally {
    await load.stop();
  }
  await allThere(t, state.acked, [gw]);
  t.diagnostic(`new master named to the next acknowledged push: ${state.firstAfter - state.markedAt} ms`);
  assert.match(gw.output(), /the Redis Sentinels name a new master; loading the metrics from it/);
});

test('min-replicas-acked=1 on a master without replicas: the commit is refused with 503 and says why', async () => {
  const redis = await startRedis();
  started.push(redis);
  const gw = await startServer('ours', [`--storage.redis.url=${redis.url}`, '--storage.redis.min-replicas-acked=1']);
  started.push(gw);
  const r = await send(gw.url, 'PUT', '/metrics/job/unacked', 'x 1\n');
  assert.equal(r.status, 503);
  assert.match(
    r.body.toString(),
    /only 0 Redis replicas acknowledged the change within 1 s, fewer than --storage\.redis\.min-replicas-acked=1/,
  );
  // Not acknowledged, yet on the master (docs/replicas.md): shown until a failover may lose it.
  const shown = async () =>
    /^x\{instance="",job="unacked"\} 1$/m.test((await send(gw.url, 'GET', '/metrics')).body.toString());
  await within(3000, shown, 'the refused change is shown');
});
