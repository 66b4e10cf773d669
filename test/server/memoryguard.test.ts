// The memory guard on a real heap: a gateway started with a 64 MiB heap is pushed new groups until
// it refuses them. Before the guard, the same pushes ended in V8's "JavaScript heap out of memory"
// abort (SIGABRT, every group lost) with every push before it answered 200. Groups here hold ~200 KiB
// each so that the heap fills with few pushes (~3 s of CPU); the size of a group does not change
// what the guard does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { send } from '../support/http.js';
import { startServer } from '../support/servers.js';

const PAD = 'x'.repeat(50_000);
/** Four series with long label values: ~200 KiB of body, about as much stored. */
function body(n: number): string {
  let text = '';
  for (let s = 0; s < 4; s++) text += `m{n="${n}",s="${s}",pad="${PAD}"} ${s}\n`;
  return text;
}
const group = (n: number) => `/metrics/job/guard/instance/i${n}`;
const REFUSED_START = /^the gateway's memory is nearly full \([0-9.]+ MiB of its 64\.0 MiB heap in use, /;
const REFUSED_END =
  '--push.memory-guard-percent=80): new groups and series are refused until groups are deleted or the ' +
  'gateway is restarted with a larger node --max-old-space-size (existing groups can still be replaced or deleted)\n';

test('with a 64 MiB heap, new groups are refused with 503 before memory runs out; the gateway lives on', async () => {
  const started = Date.now();
  const gw = await startServer('ours', [], {
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=64' },
  });
  try {
    let next = 0;
    let refusal: { status: number; body: string } | undefined;
    const deadline = started + 45_000;
    const worker = async () => {
      while (refusal === undefined && Date.now() < deadline && next < 2000) {
        const n = next++;
        const r = await send(gw.url, 'PUT', group(n), body(n));
        if (r.status !== 200) refusal ??= { status: r.status, body: r.body.toString() };
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.ok(refusal !== undefined, `no refusal after ${next} groups in ${Date.now() - started} ms: ${gw.output()}`);
    assert.equal(refusal.status, 503, refusal.body);
    assert.match(refusal.body, REFUSED_START);
    assert.ok(refusal.body.endsWith(REFUSED_END), refusal.body);
    assert.ok(next > 100, `refused after only ${next} groups`);

    // Still refusing, still alive. A collection after the refusal can free the garbage of the
    // pushes in flight and let a few more groups in; each fills the heap further, so the
    // refusals soon hold (every one of these pushes ended in an abort before the guard).
    let inRow = 0;
    let tries = 0;
    for (; inRow < 20 && tries < 200; tries++) {
      const r = await send(gw.url, 'PUT', `/metrics/job/guard/instance/new${tries}`, body(tries));
      assert.ok(r.status === 503 || r.status === 200, `${r.status}: ${r.body.toString()}`);
      inRow = r.status === 503 ? inRow + 1 : 0;
    }
    assert.equal(inRow, 20, `no 20 refusals in a row in ${tries} new groups`);
    assert.equal(gw.proc.exitCode, null);
    assert.equal((await send(gw.url, 'GET', '/-/healthy')).status, 200);

    // A stored group can be replaced with as much and deleted.
    assert.equal((await send(gw.url, 'PUT', group(0), body(0))).status, 200);
    assert.equal((await send(gw.url, 'DELETE', group(0))).status, 202);

    // Once half the groups are gone, new ones are taken again (the guard collects at most once a
    // second while refusing, so allow a few tries).
    for (let n = 1; n < next / 2; n++) await send(gw.url, 'DELETE', group(n));
    let status = 0;
    for (let i = 0; i < 10 && status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      status = (await send(gw.url, 'PUT', '/metrics/job/guard/instance/after', body(0))).status;
    }
    assert.equal(status, 200);
  } finally {
    const exited = new Promise<[number | null, string | null]>((r) =>
      gw.proc.exitCode !== null || gw.proc.signalCode !== null
        ? r([gw.proc.exitCode, gw.proc.signalCode])
        : gw.proc.once('exit', (code, signal) => r([code, signal])),
    );
    await gw.stop();
    assert.deepEqual(await exited, [0, null], gw.output().slice(-2000));
  }
  assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
});
