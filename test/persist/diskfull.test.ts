// The built gateway on a real small file system: a 2 MiB tmpfs mounted by the test (root only; CI
// runs as root) that fills up, and one remounted read-only. Checks what issue #12 asked for: a
// push that cannot be made durable answers 503 and is not applied (not shown, not back after a
// restart), reads go on, the failure is logged once, writes come back once there is room; a
// directory that cannot be written stops the start with a sentence; snapshots on a full disk
// keep the old file whole and the gateway serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/nodeflags.js';
import { freePort, OURS_MAIN, startServer, type RunningServer } from '../support/servers.js';
import { send } from '../support/http.js';

const skip = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root (CI runs as root)';

/** A fresh directory with a 2 MiB tmpfs on it; `use` runs, then it is unmounted by its path. */
async function onTmpfs(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  try {
    await use(dir);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills the file system with a file of ours, leaving about `leave` bytes free. */
function fill(dir: string, leave: number): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  execFileSync('truncate', ['-s', String(Math.max(0, written - leave)), filler]);
  return filler;
}

/** A push body of `series` series (about 25 bytes each in the log). */
function body(series: number, value: number): string {
  let s = '';
  for (let i = 0; i < series; i++) s += `filling_metric{i="${i}"} ${value}\n`;
  return s;
}

async function until(what: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = (text: string, msg: string) => text.split(msg).length - 1;

async function scrape(base: string): Promise<string> {
  const r = await send(base, 'GET', '/metrics');
  assert.equal(r.status, 200);
  return r.body.toString();
}

test(
  '--persistence.sync on a full tmpfs: 503, not applied, reads go on, logged once, back with room',
  { skip },
  async () => {
    await onTmpfs(async (dir) => {
      const file = path.join(dir, 'metrics.data');
      const flags = [`--persistence.file=${file}`, '--persistence.sync'];
      let server: RunningServer | undefined = await startServer('ours', flags);
      try {
        const filler = fill(dir, 400 * 1024);
        let refused: { job: string; text: string } | undefined;
        const accepted: string[] = [];
        for (let i = 0; i < 100 && refused === undefined; i++) {
          const r = await send(server.url, 'PUT', `/metrics/job/j${i}`, body(1000, i));
          if (r.status === 200) accepted.push(`j${i}`);
          else refused = { job: `j${i}`, text: `${r.status} ${r.body.toString()}` };
        }
        assert.ok(refused !== undefined, 'the disk never filled');
        assert.ok(accepted.length > 0);
        assert.match(
          refused.text,
          /^503 the change cannot be made durable \(ENOSPC: no space left on device.*not applied/,
        );
        // More refusals (pushes and a delete) while full: logged once in all.
        assert.equal((await send(server.url, 'PUT', `/metrics/job/${refused.job}`, body(1000, 0))).status, 503);
        assert.equal((await send(server.url, 'DELETE', `/metrics/job/${accepted[0]}`)).status, 503);
        let text = await scrape(server.url);
        for (const job of accepted) assert.ok(text.includes(`job="${job}"`), job);
        assert.ok(!text.includes(`job="${refused.job}"`), 'a refused push is not shown');
        assert.equal((await send(server.url, 'GET', '/api/v1/metrics')).status, 200);
        assert.equal((await send(server.url, 'GET', '/-/healthy')).status, 200);
        assert.equal((await send(server.url, 'GET', '/-/ready')).status, 200);
        assert.equal(count(server.output(), 'cannot write the write-ahead log'), 1, server.output());

        // Restart on the still full disk: it starts, holds what was accepted, not the refused push.
        await server.stop();
        assert.equal(server.proc.exitCode, 0, server.output());
        server = await startServer('ours', flags);
        text = await scrape(server.url);
        for (const job of accepted) assert.ok(text.includes(`job="${job}"`), job);
        assert.ok(!text.includes(`job="${refused.job}"`), 'a refused push is not back after a restart');
        for (let i = 0; i < 3; i++) {
          assert.equal((await send(server.url, 'PUT', `/metrics/job/${refused.job}`, body(1000, 0))).status, 503);
        }
        assert.equal(count(server.output(), 'cannot write the write-ahead log'), 1, server.output());

        rmSync(filler);
        const s = server;
        await until(
          async () => (await send(s.url, 'PUT', `/metrics/job/${refused!.job}`, body(1000, 7))).status === 200,
        );
        assert.ok((await scrape(server.url)).includes(`job="${refused.job}"`));
        assert.equal(count(server.output(), 'persistence recovered'), 1, server.output());
        await server.stop();
        server = await startServer('ours', flags);
        assert.ok((await scrape(server.url)).includes(`filling_metric{i="999",instance="",job="${refused.job}"} 7`));
      } finally {
        await server?.stop();
      }
    });
  },
);

test(
  'default mode on a full tmpfs: pushes go on, the old snapshot stays whole, logged once, then written',
  { skip },
  async () => {
    await onTmpfs(async (dir) => {
      const file = path.join(dir, 'metrics.data');
      const server = await startServer('ours', [`--persistence.file=${file}`, '--persistence.interval=300ms']);
      try {
        assert.equal((await send(server.url, 'PUT', '/metrics/job/first', body(100, 1))).status, 200);
        await until(() => count(server.output(), 'metrics persisted') >= 1);
        const old = readFileSync(file);
        const filler = fill(dir, 0);
        for (let i = 0; i < 5; i++) {
          assert.equal((await send(server.url, 'PUT', `/metrics/job/more${i}`, body(2000, i))).status, 200);
        }
        await until(() => count(server.output(), 'cannot write the persistence file') === 1);
        await new Promise((r) => setTimeout(r, 1000)); // a few more intervals, each failing
        assert.equal(count(server.output(), 'cannot write the persistence file'), 1, server.output());
        assert.deepEqual(readFileSync(file), old, 'the old snapshot is untouched');
        assert.ok((await scrape(server.url)).includes('job="more4"'));
        rmSync(filler);
        await until(() => count(server.output(), 'persistence recovered') === 1);
        assert.ok(gunzipSync(readFileSync(file)).toString('latin1').includes('more4'));
        await server.stop();
        assert.deepEqual(readdirSync(dir).sort(), ['metrics.data'], 'no temporary file left');
      } finally {
        await server.stop();
      }
    });
  },
);

/** Runs the gateway until it exits (it should, at once); its exit code and output. */
async function refusedStart(flags: string[]): Promise<{ code: number | null; out: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...NODE_FLAGS, OURS_MAIN, `--web.listen-address=127.0.0.1:${port}`, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, out };
}

test('a read-only persistence directory stops the start with a sentence and exit code 1', { skip }, async () => {
  await onTmpfs(async (dir) => {
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    for (const sync of [[], ['--persistence.sync']]) {
      const { code, out } = await refusedStart([`--persistence.file=${path.join(dir, 'metrics.data')}`, ...sync]);
      assert.equal(code, 1, out);
      assert.match(
        out,
        new RegExp(
          `pushgateway: error: cannot write in ${dir}, the directory of --persistence\\.file: ` +
            'EROFS: read-only file system.*; refusing to start\n',
        ),
      );
    }
  });
});
