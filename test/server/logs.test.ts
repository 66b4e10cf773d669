// Log lines against the reference's: a user's log pipeline parsing the reference's start-up,
// push-failure and shutdown lines must find the same keys, in the same order, and the same words.
// Ours has no `caller` (see src/log.ts); times, ports and build values are masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { OURS_MAIN, REFERENCE_BIN, startServer, type RunningServer } from '../support/servers.js';

/** One logfmt line as its [key, value] pairs, in order. */
function logfmtPairs(line: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of line.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out.push([m[1], m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2]]);
  }
  return out;
}

const MASK: Record<string, (v: string) => string> = {
  ts: () => 'TS',
  version: (v) => v.replace(/=[^,)]*/g, '=X'),
  build_context: (v) => v.replace(/=[^,)]*/g, '=X'),
  address: (v) => v.replace(/:\d+$/, ':PORT'),
  source: (v) => v.replace(/:\d+$/, ':PORT'),
};

function masked(pairs: Array<[string, unknown]>): string[] {
  return pairs.filter(([k]) => k !== 'caller').map(([k, v]) => `${k}=${(MASK[k] ?? String)(String(v))}`);
}

async function session(kind: 'ours' | 'reference', format: 'logfmt' | 'json'): Promise<string[][]> {
  const s: RunningServer = await startServer(kind, ['--log.level=debug', `--log.format=${format}`]);
  const bad = await fetch(`${s.url}/metrics/job/x`, { method: 'PUT', body: 'a{ 1\n' });
  assert.equal(bad.status, 400);
  await fetch(`${s.url}/metrics/job/x`, { method: 'PUT', body: '# TYPE a counter\na 1\n' });
  const clash = await fetch(`${s.url}/metrics/job/y`, { method: 'PUT', body: '# TYPE a gauge\na 1\n' });
  assert.equal(clash.status, 400);
  await s.stop();
  const lines = s
    .output()
    .split('\n')
    .filter((l) => l !== '');
  if (format === 'logfmt') return lines.map((l) => masked(logfmtPairs(l)));
  return lines.map((l) => {
    const rec = JSON.parse(l) as Record<string, unknown>;
    return masked(Object.entries(rec));
  });
}

for (const format of ['logfmt', 'json'] as const) {
  test(`${format} lines from start to shutdown: the reference's keys, order and words`, async () => {
    const [ref, ours] = await Promise.all([session('reference', format), session('ours', format)]);
    // Consistency errors are worded alike but print the series as each implementation does.
    const err = (lines: string[][]) => lines.map((l) => l.map((kv) => kv.replace(/^err=collected metric .*/, 'err=…')));
    assert.deepEqual(err(ours), err(ref));
  });
}

test('a listen address that cannot be used: the reference line, in Go words', async () => {
  const busy = await startServer('reference');
  try {
    for (const addr of [`127.0.0.1:${busy.port}`, '127.0.0.1:70000', 'x', '127.0.0.1:abc']) {
      const line = (kind: 'ours' | 'reference') => {
        const args = ['--persistence.file=', `--web.listen-address=${addr}`];
        const r =
          kind === 'ours'
            ? spawnSync(process.execPath, [OURS_MAIN, ...args], { encoding: 'utf8', timeout: 15_000 })
            : spawnSync(REFERENCE_BIN, args, { encoding: 'utf8', timeout: 15_000 });
        // The reference then exits 0; ours 1 (docs/compatibility.md).
        assert.equal(r.status, kind === 'ours' ? 1 : 0, r.stderr);
        const last = r.stderr.trim().split('\n').at(-1)!;
        return masked(logfmtPairs(last));
      };
      assert.deepEqual(line('ours'), line('reference'), addr);
    }
  } finally {
    await busy.stop();
  }
});
