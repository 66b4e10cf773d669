// Records the reference's answers as golden files: starts the reference Pushgateway
// (REFERENCE_PUSHGATEWAY or /usr/bin/prometheus-pushgateway) once per flag set, runs every case
// from a wiped state and writes test/conformance/golden/<case>.json.
//
//   npx tsc -p tsconfig.json && node dist/test/conformance/record.js
//
// CONFORMANCE_CASES=<regexp> records only the matching cases (and deletes no stale golden file).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceAvailable, REFERENCE_BIN, startServer } from '../support/servers.js';
import { cases } from './cases.js';
import { groupCases, runCase, selectedCases, waitForExit, wipe } from './run.js';

/** test/conformance/golden in the source tree (this file runs from dist/test/conformance). */
export const GOLDEN_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test/conformance/golden',
);

export function goldenFile(name: string): string {
  return path.join(GOLDEN_DIR, `${name}.json`);
}

async function main(): Promise<void> {
  if (!referenceAvailable()) throw new Error(`reference not found at ${REFERENCE_BIN}`);
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
    if (!/^[a-z0-9-]+$/.test(c.name)) throw new Error(`case name ${c.name} is not a plain file name`);
    names.add(c.name);
  }
  const selected = selectedCases(cases);
  mkdirSync(GOLDEN_DIR, { recursive: true });
  for (const g of groupCases(selected)) {
    const opts = g.routePrefix !== undefined ? { routePrefix: g.routePrefix } : {};
    const srv = await startServer('reference', g.flags, opts);
    try {
      const target = { host: '127.0.0.1', port: srv.port };
      for (const [i, c] of g.cases.entries()) {
        if (i > 0) await wipe(target, c);
        const t = await runCase(target, c);
        if (c.checksExit) t.serverExited = await waitForExit(srv.proc);
        writeFileSync(goldenFile(c.name), JSON.stringify(t, null, 2) + '\n');
        process.stdout.write(`recorded ${c.name}\n`);
      }
    } finally {
      await srv.stop();
    }
  }
  if (!process.env.CONFORMANCE_CASES) {
    for (const f of readdirSync(GOLDEN_DIR)) {
      if (f.endsWith('.json') && !names.has(f.slice(0, -5))) {
        rmSync(path.join(GOLDEN_DIR, f));
        process.stdout.write(`removed stale ${f}\n`);
      }
    }
  }
  process.stdout.write(`${selected.length} cases recorded in ${GOLDEN_DIR}\n`);
}

// Only when run as a script (the test imports goldenFile from here).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
