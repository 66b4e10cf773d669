// Starts real gateway processes (ours or the Go reference) on free loopback ports for tests,
// and stops them by the PID we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REFERENCE_BIN = process.env.REFERENCE_PUSHGATEWAY ?? '/usr/bin/prometheus-pushgateway';
import { NODE_FLAGS } from '../../src/nodeflags.js';

export const OURS_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');

export function referenceAvailable(): boolean {
  return existsSync(REFERENCE_BIN);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  kind: 'ours' | 'reference';
  url: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Whether the server at `url` (base URL plus route prefix) answers; the default asks /-/ready over HTTP. */
export type ReadyProbe = (url: string) => Promise<boolean>;

async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status === 200;
}

export async function waitReady(
  url: string,
  proc: ChildProcess,
  output: () => string,
  timeoutMs: number,
  probe: ReadyProbe = httpReady,
  listening: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${output()}`);
    try {
      if (listening() && (await probe(url))) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${url} not ready after ${timeoutMs} ms: ${output()}`);
}

/**
 * Starts ours (`node <NODE_FLAGS> dist/src/main.js`, as `npm start` does) or the reference with the given extra flags.
 * The listen address is chosen here; `routePrefix` is only used to find the readiness endpoint.
 * With TLS or authentication (--web.config.file), pass `scheme: 'https'` (the returned url uses it)
 * and a `probe` that can reach the server (CA, credentials); the default probe is a plain GET of
 * /-/ready over HTTP expecting 200.
 */
export async function startServer(
  kind: 'ours' | 'reference',
  flags: string[] = [],
  opts: {
    routePrefix?: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    scheme?: 'http' | 'https';
    probe?: ReadyProbe;
  } = {},
): Promise<RunningServer> {
  // Test files run side by side: another one's server may take the port between freePort() and
  // the bind. That server would also answer the probe, so readiness waits for this process to say
  // it listens, and a lost race is run again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(kind, flags, opts);
    } catch (e) {
      if (attempt === 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(
  kind: 'ours' | 'reference',
  flags: string[],
  opts: Parameters<typeof startServer>[2] & object,
): Promise<RunningServer> {
  const port = await freePort();
  const listen = `--web.listen-address=127.0.0.1:${port}`;
  const hasPersistence = flags.some((f) => f.startsWith('--persistence.file'));
  // Debian's reference defaults to a persistence file under /var/lib; tests always choose explicitly.
  const all = [listen, ...(hasPersistence ? [] : ['--persistence.file=']), ...flags];
  const proc =
    kind === 'ours'
      ? spawn(process.execPath, [...NODE_FLAGS, OURS_MAIN, ...all], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: opts.env ?? process.env,
        })
      : spawn(REFERENCE_BIN, all, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const output = () => out;
  const base = `${opts.scheme ?? 'http'}://127.0.0.1:${port}`;
  const url = base + (opts.routePrefix ?? '');
  try {
    // Both log `msg="Listening on"` once bound (ours also in JSON).
    await waitReady(url, proc, output, opts.timeoutMs ?? 15000, opts.probe, () => out.includes('Listening on'));
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { kind, url: base, port, proc, output, stop };
}
