import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, parseGroupingKey } from './groupingkey.js';

const ok: Array<[string, boolean, string, string[], Record<string, string>]> = [
  ['plain job', false, 'backup', [], { job: 'backup' }],
  ['labels', false, 'j', ['instance', 'i1', 'zone', 'eu'], { job: 'j', instance: 'i1', zone: 'eu' }],
  ['percent-escaped slash stays in the value', false, 'j', ['path', 'a%2Fb'], { job: 'j', path: 'a/b' }],
  ['plus stays literal', false, 'a+b', [], { job: 'a+b' }],
  ['space escaped', false, 'a%20b', [], { job: 'a b' }],
  ['base64 job', true, 'Zm9vL2Jhcg', [], { job: 'foo/bar' }],
  ['base64 job padded', true, 'Zm9v', [], { job: 'foo' }],
  ['base64 label unpadded', false, 'j', ['path@base64', 'L3Zhci90bXA'], { job: 'j', path: '/var/tmp' }],
  ['base64 label padded', false, 'j', ['path@base64', 'L3Zhci90bXA='], { job: 'j', path: '/var/tmp' }],
  ['base64 empty value', false, 'j', ['x@base64', '='], { job: 'j', x: '' }],
  ['repeated label: last wins', false, 'j', ['a', '1', 'a', '2'], { job: 'j', a: '2' }],
  ['job label in path is overridden by job', false, 'j', ['job', 'other'], { job: 'j' }],
  ['empty label value', false, 'j', ['a', ''], { job: 'j', a: '' }],
];
for (const [name, b64, job, labels, want] of ok) {
  test(`grouping key: ${name}`, () => assert.deepEqual(parseGroupingKey(b64, job, labels), { ok: true, labels: want }));
}

const bad: Array<[string, boolean, string, string[], string]> = [
  ['odd components', false, 'j', ['lonely'], 'odd number of components in label string "/lonely"'],
  ['improper label name', false, 'j', ['1bad', 'v'], 'improper label name "1bad"'],
  ['reserved label name', false, 'j', ['__x', 'v'], 'improper label name "__x"'],
  ['bad base64 label', false, 'j', ['x@base64', '!!!'], 'invalid base64 encoding for label x="!!!": illegal base64 data at input byte 0'],
  ['bad base64 job', true, 'Zm9v!', [], 'invalid base64 encoding in job name "foo": illegal base64 data at input byte 4'],
  ['empty job', false, '', [], 'job name is required'],
  ['empty base64 job', true, '=', [], 'job name is required'],
];
for (const [name, b64, job, labels, message] of bad) {
  test(`grouping key error: ${name}`, () => assert.deepEqual(parseGroupingKey(b64, job, labels), { ok: false, message }));
}

test('base64: a dangling single character is reported at its quantum', () => {
  const d = decodeBase64('abcde');
  assert.equal(d.error, 'illegal base64 data at input byte 4');
  assert.deepEqual(Buffer.from(d.value, 'utf8').length > 0, true);
});

test('base64: newlines are skipped as Go skips them', () => {
  assert.deepEqual(decodeBase64('Zm\n9v'), { value: 'foo' });
});
