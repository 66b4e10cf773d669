// Sentinels and Redis on TLS only (docs/replicas.md, "Sentinel over TLS"), as real processes: a
// throwaway CA and certificate made with openssl, a master, a replica and two Sentinels on TLS
// ports (replication and the Sentinels' links over TLS, client certificates required, as Redis
// does by default), and gateways that reach all of them over TLS; all stopped by the PIDs we started.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { send } from '../support/http.js';
import { OURS_MAIN, startServer, type RunningServer } from '../support/servers.js';
import { askRedis, startRedis, startSentinels, type RedisTls, type RunningRedis } from '../support/redis.js';
import { within } from './cluster.js';

const NAME = 'pgw';
/** The only name the certificate holds: Sentinels name the master by IP, so the gateway must be told it. */
const SERVER_NAME = 'redis.test';

const started: Array<RunningServer | RunningRedis> = [];
const dirs: string[] = [];
after(async () => {
  for (const s of started.reverse()) await ('cleanup' in s ? s.cleanup() : s.stop());
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a certificate it signs for SERVER_NAME (server and client use), and an unrelated CA. */
async function certificates(dir: string): Promise<RedisTls & { otherCa: string }> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test CA']);
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-days',
    '1',
    '-subj',
    '/CN=other',
  ]);
  openssl(dir, ['req', ...ec, '-keyout', 'redis.key', '-out', 'redis.csr', '-subj', `/CN=${SERVER_NAME}`]);
  // Redis shows the same certificate when it connects (replication, Sentinels): client use too.
  await writeFile(path.join(dir, 'ext'), `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'redis.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'ext',
    '-out',
    'redis.crt',
  ]);
  const p = (f: string) => path.join(dir, f);
  return {
    ca: p('ca.crt'),
    cert: p('redis.crt'),
    key: p('redis.key'),
    servername: SERVER_NAME,
    otherCa: p('other.crt'),
  };
}

interface Setup {
  tls: RedisTls & { otherCa: string };
  sentinels: RunningRedis[];
  /** The gateway's Redis flags, over TLS everywhere; `without` leaves out the flags it names. */
  flags: (without?: string[]) => string[];
  /** One answer of a Sentinel over TLS. */
  askSentinel: (command: string[]) => Promise<unknown>;
}

let shared: Promise<Setup> | undefined;
function setup(): Promise<Setup> {
  shared ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pgw-sentinel-tls-test-'));
    dirs.push(dir);
    const tls = await certificates(dir);
    const master = await startRedis({ tls });
    started.push(master);
    const replica = await startRedis({ tls, extra: ['--replicaof', '127.0.0.1', String(master.port)] });
    started.push(replica);
    const sentinels = await startSentinels(master, { name: NAME, count: 2, tls });
    started.push(...sentinels);
    const ask = (port: number, command: string[]) => askRedis(port, command, { tls });

    // A failover needs the replica in sync and both Sentinels knowing it and each other (over TLS).
    await within(
      20_000,
      async () => {
        const info = String(await ask(master.port, ['INFO', 'replication']).catch(() => ''));
        if (!/connected_slaves:1/.test(info) || !/state=online/.test(info)) return false;
        for (const s of sentinels) {
          const fields = (await ask(s.port, ['SENTINEL', 'MASTER', NAME]).catch(() => [])) as string[];
          const f = (k: string) => fields[fields.indexOf(k) + 1];
          if (f('num-slaves') !== '1' || f('num-other-sentinels') !== '1') return false;
        }
        return true;
      },
      'replica in sync and Sentinels aware of it and of each other over TLS',
    );
    const all: Record<string, string> = {
      'storage.redis.url': 'rediss://127.0.0.1',
      'storage.redis.sentinels': sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      'storage.redis.master-name': NAME,
      'storage.redis.sentinel-tls': 'true',
      'storage.redis.tls-ca-cert-file': tls.ca,
      'storage.redis.tls-cert-file': tls.cert,
      'storage.redis.tls-key-file': tls.key,
      'storage.redis.tls-server-name': SERVER_NAME,
    };
    const flags = (without: string[] = []) =>
      Object.entries(all)
        .filter(([k]) => !without.includes(k))
        .map(([k, v]) => `--${k}=${v}`);
    return { tls, sentinels, flags, askSentinel: (command) => ask(sentinels[0].port, command) };
  })();
  return shared;
}

test('Sentinels and master over TLS: pushes and scrapes, and a failover the Sentinels are asked for', async () => {
  const { flags, askSentinel } = await setup();
  const gw = await startServer('ours', flags());
  started.push(gw);
  const push = (instance: string) => send(gw.url, 'PUT', `/metrics/job/tls/instance/${instance}`, `x 1\n`);
  const shown = async (instance: string) =>
    (await send(gw.url, 'GET', '/metrics')).body.toString().includes(`x{instance="${instance}",job="tls"} 1`);
  assert.equal((await push('before')).status, 200);
  assert.ok(await shown('before'));
  assert.equal((await send(gw.url, 'GET', '/-/ready')).status, 200);

  const masterNow = async () => ((await askSentinel(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME])) as string[])[1];
  const before = await masterNow();
  // Refused (NOGOODSLAVE) until the Sentinel has seen the replica's replication state.
  await within(
    20_000,
    async () => (await askSentinel(['SENTINEL', 'FAILOVER', NAME]).catch(() => '')) === 'OK',
    'failover started',
  );
  await within(20_000, async () => (await masterNow()) !== before, 'the Sentinels name the replica');
  // Pushes answer 503 while the gateway moves to the promoted replica, then go on there.
  await within(20_000, async () => (await push('after')).status === 200, 'a push acknowledged by the new master');
  assert.ok(await shown('before'), 'the push before the failover is on the new master');
  assert.ok(await shown('after'));
  assert.match(gw.output(), /the Redis Sentinels name a new master; loading the metrics from it/);
  await gw.stop();
});

/** Starts a gateway that must stop by itself; its exit code and output. */
async function refusedStart(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = spawn(process.execPath, [OURS_MAIN, '--web.listen-address=127.0.0.1:0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr };
}

test('TLS settings the Sentinels refuse stop the start with a sentence naming the flag', async () => {
  const { tls, flags } = await setup();
  const cases: Array<[string, string[], RegExp]> = [
    [
      'another CA',
      [...flags(['storage.redis.tls-ca-cert-file']), `--storage.redis.tls-ca-cert-file=${tls.otherCa}`],
      /its certificate is not trusted \(self-signed certificate in certificate chain\); check --storage\.redis\.tls-ca-cert-file/,
    ],
    [
      'no server name (the certificate is not for 127.0.0.1)',
      flags(['storage.redis.tls-server-name']),
      /its certificate is not for this address \(.*\); --storage\.redis\.tls-server-name names what it holds/,
    ],
    [
      'no client certificate',
      flags(['storage.redis.tls-cert-file', 'storage.redis.tls-key-file']),
      /it refused our client certificate \(TLS alert CERTIFICATE_REQUIRED\); check --storage\.redis\.tls-cert-file/,
    ],
  ];
  // Several gateways at once: each start takes a node start-up and two TLS handshakes.
  const results = await Promise.all(cases.map(([, args]) => refusedStart(args)));
  for (const [k, [what, , message]] of cases.entries()) {
    const { code, stderr } = results[k];
    assert.equal(code, 1, `${what}: ${stderr}`);
    assert.match(
      stderr,
      /error: no Redis Sentinel could be asked for the master "pgw" \(asked 127\.0\.0\.1:\d+: /,
      what,
    );
    assert.match(stderr, message, what);
  }
});

test('TLS files that cannot work stop the start before any connection, naming the flag', async () => {
  const { tls, flags } = await setup();
  const without = flags(['storage.redis.tls-ca-cert-file', 'storage.redis.tls-key-file']);
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a CA file that is not there',
      [...without, '--storage.redis.tls-ca-cert-file=/nonexistent/ca.pem', `--storage.redis.tls-key-file=${tls.key}`],
      /error: cannot read --storage\.redis\.tls-ca-cert-file: ENOENT/,
    ],
    [
      'a key given as the CA',
      [...without, `--storage.redis.tls-ca-cert-file=${tls.key}`, `--storage.redis.tls-key-file=${tls.key}`],
      /error: --storage\.redis\.tls-ca-cert-file holds no PEM certificate/,
    ],
    [
      "another certificate's key",
      [
        ...without,
        `--storage.redis.tls-ca-cert-file=${tls.ca}`,
        `--storage.redis.tls-key-file=${tls.otherCa.replace(/\.crt$/, '.key')}`,
      ],
      /error: cannot use --storage\.redis\.tls-cert-file and --storage\.redis\.tls-key-file: .*key values mismatch/,
    ],
  ];
  const results = await Promise.all(cases.map(([, args]) => refusedStart(args)));
  for (const [k, [what, , message]] of cases.entries()) {
    assert.equal(results[k].code, 1, `${what}: ${results[k].stderr}`);
    assert.match(results[k].stderr, message, what);
  }
});
