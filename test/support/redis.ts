// Starts a real redis-server (Debian's) on a free loopback port with its own data directory for
// a test, and stops it by the PID we started; also Sentinels (redis-server <conf> --sentinel).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createClient } from '@redis/client';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './servers.js';
import { requireBinary } from './prometheus.js';

export const REDIS_BIN = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RunningRedis {
  port: number;
  url: string;
  dir: string;
  /** The server's PID while it runs. */
  readonly pid: number | undefined;
  /** Stops it (SIGTERM, then SIGKILL after 5 s); its directory stays for `start`. */
  stop: () => Promise<void>;
  /** kill -9. */
  kill: () => Promise<void>;
  /** Starts it again on the same port and directory. */
  start: () => Promise<void>;
  /** Stops it and removes its directory. */
  cleanup: () => Promise<void>;
}

/**
 * A server on TLS only (port 0, tls-port; replication and Sentinels' links over TLS too): the PEM
 * files of redis.conf's tls-ca-cert-file, tls-cert-file (also its client certificate: Redis asks
 * clients for one by default) and tls-key-file, and the name its certificate holds.
 */
export interface RedisTls {
  ca: string;
  cert: string;
  key: string;
  servername: string;
}

/** The redis.conf lines (as --name value arguments or file lines) of a TLS-only server on `port`. */
function tlsSettings(port: number, tls: RedisTls): string[][] {
  return [
    ['port', '0'],
    ['tls-port', String(port)],
    ['tls-ca-cert-file', tls.ca],
    ['tls-cert-file', tls.cert],
    ['tls-key-file', tls.key],
    ['tls-replication', 'yes'],
  ];
}

/** One answer of a Redis (or Sentinel) at `port` to `command`, on a connection of its own (TLS with `tls`). */
export async function askRedis(
  port: number,
  command: string[],
  opts: { password?: string; tls?: RedisTls } = {},
): Promise<unknown> {
  const { password, tls } = opts;
  const socket =
    tls === undefined
      ? { host: '127.0.0.1', port, reconnectStrategy: false as const }
      : {
          host: '127.0.0.1',
          port,
          tls: true as const,
          servername: tls.servername,
          ca: readFileSync(tls.ca),
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          reconnectStrategy: false as const,
        };
  const c = createClient({ RESP: 2, password, socket });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.sendCommand(command);
  } finally {
    c.destroy();
  }
}

/** Answers PING with PONG over a raw socket, TLS if `tls` (after AUTH with `password`). */
function pong(port: number, password?: string, tls?: RedisTls): Promise<boolean> {
  return new Promise((resolve) => {
    const hello = () => s.write(password === undefined ? 'PING\r\n' : `AUTH ${password}\r\nPING\r\n`);
    const s =
      tls === undefined
        ? createConnection({ host: '127.0.0.1', port }, hello)
        : tlsConnect(
            {
              host: '127.0.0.1',
              port,
              servername: tls.servername,
              ca: readFileSync(tls.ca),
              cert: readFileSync(tls.cert),
              key: readFileSync(tls.key),
            },
            hello,
          );
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (password !== undefined && !got.includes('\r\n+')) return;
      s.destroy();
      resolve(got.includes('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * `aof`: appendonly with appendfsync always (durability tests); otherwise nothing is persisted.
 * `password`: requirepass (and masterauth, for a replica or a master that becomes one).
 */
export async function startRedis(
  opts: { aof?: boolean; extra?: string[]; password?: string; tls?: RedisTls } = {},
): Promise<RunningRedis> {
  requireBinary(REDIS_BIN, 'redis-server');
  const dir = await mkdtemp(path.join(tmpdir(), 'pgw-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password, '--masterauth', opts.password]),
    ...(opts.tls === undefined ? [] : tlsSettings(port, opts.tls).flatMap(([k, v]) => [`--${k}`, v])),
    ...(opts.extra ?? []),
  ];
  return runRedis(args, port, dir, opts.password, opts.tls);
}

/**
 * Starts `count` Sentinels watching `master` as `name` (quorum: a majority), each on a free port
 * with its own directory (a Sentinel rewrites its configuration file). Short timeouts so that a
 * failover takes seconds: the master is down after `downAfterMs` without an answer.
 */
export async function startSentinels(
  master: RunningRedis,
  opts: {
    name: string;
    count?: number;
    downAfterMs?: number;
    password?: string;
    masterPassword?: string;
    tls?: RedisTls;
  },
): Promise<RunningRedis[]> {
  requireBinary(REDIS_BIN, 'redis-server');
  const count = opts.count ?? 3;
  return Promise.all(
    Array.from({ length: count }, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'pgw-sentinel-'));
      const port = await freePort();
      const conf = path.join(dir, 'sentinel.conf');
      const lines = [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${opts.name} 127.0.0.1 ${master.port} ${Math.floor(count / 2) + 1}`,
        `sentinel down-after-milliseconds ${opts.name} ${opts.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${opts.name} 3000`,
        ...(opts.masterPassword === undefined ? [] : [`sentinel auth-pass ${opts.name} ${opts.masterPassword}`]),
        ...(opts.password === undefined ? [] : [`requirepass ${opts.password}`]),
        ...(opts.tls === undefined ? [] : tlsSettings(port, opts.tls).map((kv) => kv.join(' '))),
      ];
      await writeFile(conf, lines.join('\n') + '\n');
      return runRedis([conf, '--sentinel'], port, dir, opts.password, opts.tls);
    }),
  );
}

/**
 * Runs redis-server with `args` (a configuration file first, if any) answering on `port`, its
 * working directory `dir` (removed by cleanup); ready once it answers PING.
 */
export async function runRedis(
  args: string[],
  port: number,
  dir: string,
  password?: string,
  tls?: RedisTls,
): Promise<RunningRedis> {
  let proc: ChildProcess | undefined;
  let out = '';
  const start = async () => {
    const p = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await pong(port, password, tls))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}: ${out}`);
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        throw new Error(`redis-server not answering after 10 s: ${out}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    url: `${tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    dir,
    get pid() {
      return proc?.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start,
    cleanup: async () => {
      await end('SIGKILL');
      // A fork of the server (a snapshot for a replica) may outlive it for a moment.
      await rm(dir, { recursive: true, force: true, maxRetries: 10 });
    },
  };
}
