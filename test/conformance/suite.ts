// The conformance suite as a function, so that it runs against several targets: ours on the
// embedded store, the reference (conformance.test.ts) and ours on Redis (redis.test.ts). Each case
// of cases.ts runs from a wiped state; its transcript must equal test/conformance/golden/<case>.json
// (ours: test/conformance/ours/<case>.json for the deliberate differences).
//
// One server per flag set (see groupCases), wiped between cases with PUT /api/v1/admin/wipe.
// On a mismatch the test fails with a line diff; the full transcript is written to
// $TMPDIR/pushgateway-conformance/<target>/<case>.json.
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../support/servers.js';
import { cases, type Case } from './cases.js';
import { groupCases, runCase, selectedCases, waitForExit, wipe, type Transcript } from './run.js';
import { goldenFile } from './record.js';
import { DELIBERATE, oursFile } from './deliberate.js';

const CASE_TIMEOUT_MS = 60_000;
const OUT_DIR = path.join(os.tmpdir(), 'pushgateway-conformance');

/** Line diff (LCS) of two texts, as unified-diff-like lines with a little context. */
export function lineDiff(expected: string, actual: string, context = 3, maxLines = 80): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: { t: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ t: ' ', line: a[i] });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ t: '-', line: a[i++] });
    } else {
      ops.push({ t: '+', line: b[j++] });
    }
  }
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((op, k) => {
    if (op.t !== ' ')
      for (let d = Math.max(0, k - context); d <= Math.min(ops.length - 1, k + context); d++) keep[d] = true;
  });
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (!keep[k]) {
      if (!skipped) out.push('  ...');
      skipped = true;
      return;
    }
    skipped = false;
    out.push(`${op.t} ${op.line}`);
  });
  if (out.length > maxLines)
    return [...out.slice(0, maxLines), `  ... (${out.length - maxLines} more diff lines)`].join('\n');
  return out.join('\n');
}

function compare(kind: 'ours' | 'reference', name: string, c: Case, actual: Transcript): void {
  const f = kind === 'ours' && c.name in DELIBERATE ? oursFile(c.name) : goldenFile(c.name);
  const exp = existsSync(f) ? JSON.stringify(JSON.parse(readFileSync(f, 'utf8')) as Transcript, null, 2) : undefined;
  const act = JSON.stringify(actual, null, 2);
  if (exp === act) return;
  mkdirSync(path.join(OUT_DIR, name), { recursive: true });
  const out = path.join(OUT_DIR, name, `${c.name}.json`);
  writeFileSync(out, act + '\n');
  if (exp === undefined) throw new Error(`no expected transcript ${f} (record it; ${name}'s is in ${out})`);
  throw new Error(
    `${name} differs from ${kind === 'ours' && c.name in DELIBERATE ? 'ours' : 'golden'}/${c.name}.json (- expected, + ${name}; full transcript in ${out}):\n` +
      `  # ${c.description}\n${lineDiff(exp, act)}`,
  );
}

export interface SuiteTarget {
  /** Which server runs, and which transcripts it is held to. */
  kind: 'ours' | 'reference';
  /** Its name in test titles and under $TMPDIR/pushgateway-conformance (default: kind). */
  name?: string;
  /** Flags added to the server of the `index`th group of cases (e.g. its own Redis database). */
  extraFlags?: (index: number) => Promise<string[]>;
}

export function suite(target: SuiteTarget): void {
  const { kind, name = kind } = target;
  groupCases(selectedCases(cases)).forEach((g, index) => {
    describe(`${name} [${g.label}]`, () => {
      let srv: RunningServer | undefined;
      let startError: unknown;
      before(async () => {
        try {
          const opts = g.routePrefix !== undefined ? { routePrefix: g.routePrefix } : {};
          const extra = (await target.extraFlags?.(index)) ?? [];
          srv = await startServer(kind, [...g.flags, ...extra], opts);
        } catch (e) {
          startError = e;
        }
      });
      after(async () => {
        await srv?.stop();
      });
      g.cases.forEach((c, idx) => {
        it(c.name, { timeout: CASE_TIMEOUT_MS }, async () => {
          if (!srv) {
            const why = startError instanceof Error ? startError.message : String(startError);
            throw new Error(
              `${name} server did not start (flags: ${g.flags.join(' ') || 'none'}): ${why.slice(0, 2000)}`,
            );
          }
          const target = { host: '127.0.0.1', port: srv.port };
          if (idx > 0) await wipe(target, c);
          const t = await runCase(target, c);
          if (c.checksExit) t.serverExited = await waitForExit(srv.proc);
          compare(kind, name, c, t);
        });
      });
    });
  });
}
