import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchingAny, parseSelector, SelectorError } from './selector.js';

const ERRORS: Array<[string, string]> = [
  ['', 'empty selector: give one such as {job="batch"}'],
  ['   ', 'empty selector: give one such as {job="batch"}'],
  [
    'up{job="a"}',
    'a selector of groups has no metric name, only grouping labels in braces, such as {job="batch"}: expected "{" ' +
      'at position 1 of "up{job=\\"a\\"}"',
  ],
  ['(job="a")', 'expected "{", found "(" at position 1 of "(job=\\"a\\")"'],
  ['{', 'expected a label name or "}", found the end at position 2 of "{"'],
  ['{job="a",', 'expected a label name or "}", found the end at position 10 of "{job=\\"a\\","'],
  ['{1job="a"}', 'expected a label name, found "1" at position 2 of "{1job=\\"a\\"}"'],
  ['{job}', 'expected one of =, !=, =~, !~ after job, found "}" at position 5 of "{job}"'],
  ['{job=="a"}', 'expected a quoted label value, found "=" at position 6 of "{job==\\"a\\"}"'],
  ['{job=a}', 'expected a quoted label value, found "a" at position 6 of "{job=a}"'],
  ['{job="a}', 'unterminated quoted value at position 6 of "{job=\\"a}"'],
  ['{job="a\\q"}', 'invalid escape \\q at position 8 of "{job=\\"a\\\\q\\"}"'],
  ['{job="\\x4"}', 'invalid escape \\x4" at position 7 of "{job=\\"\\\\x4\\"}"'],
  ['{job="a\nb"}', 'a newline inside a quoted value at position 8 of "{job=\\"a\\nb\\"}"'],
  [
    '{job="a" instance="b"}',
    'expected "," or "}" after the matcher of job, found "i" at position 10 of "{job=\\"a\\" instance=\\"b\\"}"',
  ],
  ['{job="a"} x', 'unexpected "x" after "}" at position 11 of "{job=\\"a\\"} x"'],
  ['{}', 'the selector {} has no matcher: name at least one, such as {job="batch"}'],
  [
    '{job=~".*"}',
    'the selector {job=~".*"} matches the empty string in every matcher, so it would select groups by omission: ' +
      'give at least one matcher the empty string does not pass, such as {job=~".+"} for every group',
  ],
  [
    '{job!="a",x=""}',
    'the selector {job!="a",x=""} matches the empty string in every matcher, so it would select groups by omission: ' +
      'give at least one matcher the empty string does not pass, such as {job=~".+"} for every group',
  ],
  ['{job=~"("}', 'invalid regular expression "(" for job: Unterminated group'],
  [
    '{job=~"(?=a)a"}',
    'invalid regular expression "(?=a)a" for job: lookahead and lookbehind are not supported (RE2 syntax)',
  ],
  ['{job=~"(a)\\\\1"}', 'invalid regular expression "(a)\\\\1" for job: backreferences are not supported (RE2 syntax)'],
];

for (const [text, message] of ERRORS) {
  test(`selector ${JSON.stringify(text)} is refused: ${message}`, () => {
    assert.throws(() => parseSelector(text), new SelectorError(message));
  });
}

const GROUPS: Array<Record<string, string>> = [
  { job: 'batch', instance: 'host-1' },
  { job: 'batch', instance: 'host-2' },
  { job: 'batch' },
  { job: 'cron', instance: 'host-1' },
  { job: 'Batch', instance: 'h\u00e9' },
];

const MATCHES: Array<[string, number[]]> = [
  ['{job="batch"}', [0, 1, 2]],
  ['{ job = "batch" , }', [0, 1, 2]],
  ["{job='batch'}", [0, 1, 2]],
  ['{job=`batch`}', [0, 1, 2]],
  ['{job="batch",instance=~"host-.*"}', [0, 1]],
  ['{job="batch",instance=""}', [2]],
  ['{job="batch",instance!=""}', [0, 1]],
  ['{instance=~"host-1"}', [0, 3]],
  ['{instance=~"host"}', []],
  ['{instance=~"host-1|h\\u00e9"}', [0, 3, 4]],
  ['{job!~"batch|cron",job=~".+"}', [4]],
  ['{job=~"(?i)batch"}', [0, 1, 2, 4]],
  ['{job=~"(?P<j>b)atch"}', [0, 1, 2]],
  ['{job=~".+"}', [0, 1, 2, 3, 4]],
  ['{job!="nothing",instance=~".+"}', [0, 1, 3, 4]],
  ['{job="\\x62atch",instance="host-\\u0031"}', [0]],
];

for (const [text, want] of MATCHES) {
  test(`selector ${text} matches groups ${JSON.stringify(want)}`, () => {
    const s = parseSelector(text);
    assert.deepEqual(
      GROUPS.flatMap((g, i) => (s.matches(g) ? [i] : [])),
      want,
    );
  });
}

test('several selectors are OR-ed', () => {
  const groups = GROUPS.map((labels) => ({ labels }));
  const got = matchingAny(groups, [parseSelector('{job="cron"}'), parseSelector('{instance="host-2"}')]);
  assert.deepEqual(
    got.map((g) => g.labels),
    [GROUPS[1], GROUPS[3]],
  );
});
