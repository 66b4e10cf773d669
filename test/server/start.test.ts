// The README's start command (`npm start`) as a service manager uses it: the signal goes to the
// process the command started (npm), and must reach the gateway, which flushes its persistence
// file and exits; no gateway may be left behind (npm does not forward signals through a shell that
// runs node as its child, hence the `exec` in the start script).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { send } from '../support/http.js';
import { freePort, OURS_MAIN, startServer, waitReady } from '../support/servers.js';

const ROOT = path.resolve(path.dirname(OURS_MAIN), '../..');

/** PIDs of the live descendants of `pid`, read from /proc (the gateway is npm's child or grandchild). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces; the parent PID is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    frontier = [...parent].filter(([, ppid]) => frontier.includes(ppid)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

/** Whether `pid` is node running the gateway (not a shell whose command line names it). */
function isGateway(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0]) === 'node' && argv.includes('dist/src/main.js');
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exitOf(proc: ChildProcess, timeoutMs: number): Promise<number | string | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode ?? proc.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

test('SIGTERM to the `npm start` process stops the gateway gracefully and flushes its persistence file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'metrics.store');
  const port = await freePort();
  const npm = spawn('npm', ['start', '--', `--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${file}`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  let gateways: number[] = [];
  try {
    await waitReady(url, npm, () => out, 30_000);
    gateways = descendants(npm.pid!).filter((pid) => isGateway(pid));
    assert.equal(gateways.length, 1, `one gateway process under npm: ${gateways.join(', ')}`);
    const pushed = await send(url, 'PUT', '/metrics/job/start_test/instance/a', 'start_test_metric 42\n');
    assert.equal(pushed.status, 200);

    npm.kill('SIGTERM');
    assert.equal(await exitOf(npm, 20_000), 0, out);
    assert.match(out, /exiting gracefully/);
    assert.deepEqual(
      gateways.filter((pid) => alive(pid)),
      [],
      'the gateway outlived the npm process',
    );
  } finally {
    // Whatever the outcome, nothing this test started keeps running.
    for (const pid of gateways) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
  }

  // The group is in the file: a new gateway restores it from there.
  const again = await startServer('ours', [`--persistence.file=${file}`]);
  try {
    const scrape = await send(again.url, 'GET', '/metrics');
    assert.match(scrape.body.toString(), /^start_test_metric\{instance="a",job="start_test"\} 42$/m);
  } finally {
    await again.stop();
  }
});

test('`npm start` without a build says to run `npm run build` first', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-nobuild-'));
  try {
    copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    const r = spawnSync('npm', ['start'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /dist\/src\/main\.js is missing: run npm run build first/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
