// A cheap sender for floods (StreamSpec.raw): requests built before the clock starts and written on
// bare TCP sockets, the answer read only as far as its status line and length. Node's HTTP client
// costs the load process far more per request than the gateway spends refusing it, so at 1,000
// requests a second on two shared cores it would measure the load generator, not the gateway.
// A connection the server keeps open is used again (keep-alive); one it closes is not.
// Where a C compiler is found, the open loop runs in bench/rawflood.c instead (nativeFlood): even
// on bare sockets Node spends ~0.3 ms of CPU per connection, as much as the gateway under test.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RawAnswer {
  status: number;
  bytes: number;
  error?: string;
  text?: string;
}

export interface RawTarget {
  method: string;
  port: number;
  path: string;
  headers?: Record<string, string>;
  /** Each request carries basic auth for this user with its own random password. */
  wrongPasswordsFor?: string;
  localAddress?: string;
}

/** Distinct passwords sent in turn: more than the gateway caches verdicts for, so none is answered from its cache. */
const DISTINCT = 8192;

function buildRequests(t: RawTarget): Buffer[] {
  const requests: Buffer[] = [];
  for (let i = 0; i < (t.wrongPasswordsFor === undefined ? 1 : DISTINCT); i++) {
    const headers: Record<string, string> = { Host: `127.0.0.1:${t.port}`, ...t.headers };
    if (t.wrongPasswordsFor !== undefined)
      headers.Authorization =
        'Basic ' + Buffer.from(`${t.wrongPasswordsFor}:${Math.random().toString(36).slice(2)}`).toString('base64');
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    requests.push(Buffer.from(`${t.method} ${t.path} HTTP/1.1\r\n${lines.join('')}\r\n`));
  }
  return requests;
}

/** Returns a function sending one request and resolving with its answer, or with an error code at `timeoutMs`. */
export function rawSender(t: RawTarget): (timeoutMs: number) => Promise<RawAnswer> {
  const requests = buildRequests(t);
  let next = 0;
  const idle: Socket[] = [];

  return (timeoutMs) =>
    new Promise((resolve) => {
      let reused = idle.pop();
      while (reused?.destroyed === true) reused = idle.pop();
      const socket = reused ?? connect({ host: '127.0.0.1', port: t.port, localAddress: t.localAddress });
      let got: Buffer = Buffer.alloc(0);
      let settled = false;
      const finish = (a: RawAnswer, keep: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        if (keep && !socket.destroyed) idle.push(socket);
        else socket.destroy();
        resolve(a);
      };
      const onData = (d: Buffer) => {
        got = got.length === 0 ? d : Buffer.concat([got, d]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = got.subarray(0, end).toString('latin1');
        const status = Number(head.slice(9, 12));
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (got.length < end + 4 + length) return;
        const close = /\r\nconnection: *close/i.test(head);
        finish(
          {
            status,
            bytes: got.length,
            text: got
              .subarray(end + 4)
              .toString('utf8')
              .slice(0, 300),
          },
          !close,
        );
      };
      const onClose = () => finish({ status: 0, bytes: got.length, error: 'CLOSED' }, false);
      const timer = setTimeout(() => finish({ status: 0, bytes: got.length, error: 'TIMEOUT' }, false), timeoutMs);
      socket.on('data', onData);
      socket.on('close', onClose);
      if (reused === undefined) socket.on('error', () => socket.destroy());
      socket.write(requests[next]);
      next = (next + 1) % requests.length;
    });
}

/** What bench/rawflood.c reports of an open loop. */
export interface NativeResult {
  cpuMs: number;
  scheduled: number;
  ok: number;
  bytes: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  samples: string[];
  /** Of every request, in the order they ended, ms from its schedule. */
  latencies: number[];
}

export interface OpenLoop {
  ratePerSec: number;
  durationMs: number;
  maxRequests: number;
  timeoutMs: number;
  connections: number;
}

const SOURCE = fileURLToPath(new URL('../../bench/rawflood.c', import.meta.url));

/** The compiled sender (cached by its source's hash), or undefined when there is no C compiler. */
function nativeBinary(): string | undefined {
  if (!existsSync(SOURCE)) return undefined;
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const bin = path.join(os.tmpdir(), `pgw-rawflood-${hash}`);
  if (existsSync(bin)) return bin;
  const tmp = `${bin}.${process.pid}`;
  try {
    execFileSync('cc', ['-O2', '-o', tmp, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  } catch (e) {
    process.stderr.write(
      `rawflood: no C sender (${e instanceof Error ? e.message : String(e)}); using Node's sockets\n`,
    );
    return undefined;
  }
  renameSync(tmp, bin);
  return bin;
}

/**
 * Builds the requests and the C sender; the result runs the open loop in it (a child of this
 * process, so in its session) and resolves with its report. Undefined without a C compiler.
 */
export function nativeFlood(t: RawTarget, loop: OpenLoop): (() => Promise<NativeResult>) | undefined {
  const bin = nativeBinary();
  if (bin === undefined) return undefined;
  const file = path.join(os.tmpdir(), `pgw-rawflood-requests-${process.pid}`);
  writeFileSync(file, Buffer.concat(buildRequests(t).flatMap((r) => [r, Buffer.alloc(1)])));
  const args = [t.port, t.localAddress ?? '', loop.ratePerSec, loop.durationMs, loop.maxRequests, loop.timeoutMs];
  return () =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, [...args, loop.connections, file].map(String), { stdio: ['ignore', 'pipe', 'inherit'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('error', reject);
      child.on('close', (code) => {
        rmSync(file, { force: true });
        if (code !== 0) reject(new Error(`rawflood exited with ${code}`));
        else resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as NativeResult);
      });
    });
}
