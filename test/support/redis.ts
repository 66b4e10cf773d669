// Starts a real redis-server (Debian's) on a free loopback port with its own data directory for
// a test, and stops it by the PID we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
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

/** Answers PING with PONG over a raw socket. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

/** `aof`: appendonly with appendfsync always (durability tests); otherwise nothing is persisted. */
export async function startRedis(opts: { aof?: boolean; extra?: string[] } = {}): Promise<RunningRedis> {
  requireBinary(REDIS_BIN, 'redis-server');
  const dir = await mkdtemp(path.join(tmpdir(), 'pgw-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let out = '';
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
    ...(opts.extra ?? []),
  ];
  const start = async () => {
    const p = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await pong(port))) {
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
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return proc?.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start,
    cleanup: async () => {
      await end('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
