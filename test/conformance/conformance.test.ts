// Conformance suite: every case of cases.ts is run from a wiped state against ours and, when the
// reference binary is installed, against the reference (which proves that the golden files are
// current). Each transcript must equal test/conformance/golden/<case>.json.
//
// One server per flag set (see groupCases), wiped between cases with PUT /api/v1/admin/wipe.
// On a mismatch the test fails with a line diff; the full transcript is written to
// $TMPDIR/pushgateway-conformance/<ours|reference>/<case>.json.
// CONFORMANCE_CASES=<regexp> runs only the matching cases; CONFORMANCE_TARGETS=ours (or
// =reference) only one side.
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OURS_MAIN, referenceAvailable, startServer, type RunningServer } from '../support/servers.js';
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

function compare(kind: string, c: Case, actual: Transcript): void {
  const f = kind === 'ours' && c.name in DELIBERATE ? oursFile(c.name) : goldenFile(c.name);
  const exp = existsSync(f) ? JSON.stringify(JSON.parse(readFileSync(f, 'utf8')) as Transcript, null, 2) : undefined;
  const act = JSON.stringify(actual, null, 2);
  if (exp === act) return;
  mkdirSync(path.join(OUT_DIR, kind), { recursive: true });
  const out = path.join(OUT_DIR, kind, `${c.name}.json`);
  writeFileSync(out, act + '\n');
  if (exp === undefined) throw new Error(`no expected transcript ${f} (record it; ${kind}'s is in ${out})`);
  throw new Error(
    `${kind} differs from ${kind === 'ours' && c.name in DELIBERATE ? 'ours' : 'golden'}/${c.name}.json (- expected, + ${kind}; full transcript in ${out}):\n` +
      `  # ${c.description}\n${lineDiff(exp, act)}`,
  );
}

function suite(kind: 'ours' | 'reference'): void {
  for (const g of groupCases(selectedCases(cases))) {
    describe(`${kind} [${g.label}]`, () => {
      let srv: RunningServer | undefined;
      let startError: unknown;
      before(async () => {
        try {
          const opts = g.routePrefix !== undefined ? { routePrefix: g.routePrefix } : {};
          srv = await startServer(kind, g.flags, opts);
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
              `${kind} server did not start (flags: ${g.flags.join(' ') || 'none'}): ${why.slice(0, 2000)}`,
            );
          }
          const target = { host: '127.0.0.1', port: srv.port };
          if (idx > 0) await wipe(target, c);
          const t = await runCase(target, c);
          if (c.checksExit) t.serverExited = await waitForExit(srv.proc);
          compare(kind, c, t);
        });
      });
    });
  }
}

/** CONFORMANCE_TARGETS=ours or =reference runs only that side (default: both). */
const targets = (process.env.CONFORMANCE_TARGETS ?? 'ours,reference').split(',');

describe('conformance with the reference Pushgateway (golden files)', () => {
  if (!targets.includes('ours')) {
    // not requested
  } else if (!existsSync(OURS_MAIN)) {
    it('ours is built', () => {
      throw new Error(`${OURS_MAIN} does not exist: build with npx tsc -p tsconfig.json`);
    });
  } else {
    suite('ours');
  }
  if (!targets.includes('reference')) {
    // not requested
  } else if (referenceAvailable()) suite('reference');
  else it('reference binary installed (golden files not re-checked)', { skip: 'no reference binary' }, () => {});
});
