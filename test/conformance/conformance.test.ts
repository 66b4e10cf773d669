// Conformance suite: every case of cases.ts is run from a wiped state against ours and, when the
// reference binary is installed, against the reference (which proves that the golden files are
// current). Each transcript must equal test/conformance/golden/<case>.json (see suite.ts; the same
// suite runs against ours on Redis in redis.test.ts).
// CONFORMANCE_CASES=<regexp> runs only the matching cases; CONFORMANCE_TARGETS=ours (or
// =reference) only one side.
import { describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { OURS_MAIN, referenceAvailable } from '../support/servers.js';
import { suite } from './suite.js';

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
    suite({ kind: 'ours' });
  }
  if (!targets.includes('reference')) {
    // not requested
  } else if (referenceAvailable()) suite({ kind: 'reference' });
  else it('reference binary installed (golden files not re-checked)', { skip: 'no reference binary' }, () => {});
});
