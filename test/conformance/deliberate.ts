// Cases where ours answers differently from the reference on purpose. For these, ours is
// compared with test/conformance/ours/<case>.json (its own reviewed transcript) instead of the
// reference's golden file; the reference is still checked against the golden file. Each one is
// listed in docs/compatibility.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DELIBERATE: Record<string, string> = {
  'percent-2f-in-job': 'a %2F in a path segment stays inside the value (the reference splits the path there)',
  'percent-2f-in-label-value': 'a %2F in a path segment stays inside the value (the reference splits the path there)',
  'unicode-raw-utf8':
    "Node's HTTP parser refuses raw non-ASCII bytes in a path: 400 with a sentence saying to percent-encode them",
  'label-base64-invalid-utf8-poisons-store':
    'a grouping value that is not UTF-8 gets the same 400, but creates no group (the reference creates it and fails every scrape after)',
  'instance-empty-in-path-duplicates': 'the scrape leaves out the repeated series instead of failing with 500',
  'user-pushes-push-failure-time-seconds':
    "pushed push_time_seconds/push_failure_time_seconds families are replaced by the gateway's own",
  'unchecked-type-clash':
    'with the check off, the scrape shows the consistent part (lowest grouping key decides the type) instead of 500',
  'unchecked-duplicate-series': 'with the check off, the scrape leaves out repeated series instead of failing with 500',
  'go-metric-untyped': 'no go_* runtime metrics here (Node.js process metrics instead), so go_* names are free to push',
  'go-metric-gauge-other-help':
    'no go_* runtime metrics here (Node.js process metrics instead), so go_* names are free to push',
};

/** test/conformance/ours in the source tree (this file runs from dist/test/conformance). */
export const OURS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/conformance/ours');

export function oursFile(name: string): string {
  return path.join(OURS_DIR, `${name}.json`);
}
