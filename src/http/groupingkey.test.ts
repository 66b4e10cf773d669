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
  [
    'bad base64 label',
    false,
    'j',
    ['x@base64', '!!!'],
    'invalid base64 encoding for label x="!!!": illegal base64 data at input byte 0',
  ],
  [
    'bad base64 job',
    true,
    'Zm9v!',
    [],
    'invalid base64 encoding in job name "foo": illegal base64 data at input byte 4',
  ],
  ['empty job', false, '', [], 'job name is required'],
  ['empty base64 job', true, '=', [], 'job name is required'],
];
for (const [name, b64, job, labels, message] of bad) {
  test(`grouping key error: ${name}`, () =>
    assert.deepEqual(parseGroupingKey(b64, job, labels), { ok: false, message }));
}

test('base64: a dangling single character is reported at its quantum', () => {
  const d = decodeBase64('abcde');
  assert.equal(d.error, 'illegal base64 data at input byte 4');
  assert.deepEqual(Buffer.from(d.value, 'utf8').length > 0, true);
});

test('base64: newlines are skipped as Go skips them', () => {
  assert.deepEqual(decodeBase64('Zm\n9v'), { value: 'foo' });
});

// --- UTF-8 names (--push.enable-utf8-names) ---------------------------------------------------
// Pushgateway 1.11's splitLabels with model.ValueEncodingEscaping and model.UTF8Validation; the
// first cases are upstream's handler tests (TestSplitLabelsUTF8, TestPushUTF8, TestDeleteUTF8).
import { unescapeName } from './groupingkey.js';
import { escapeName } from '../expose/text.js';

const UTF8 = { utf8Names: true };

const okUtf8: Array<[string, boolean, string, string[], Record<string, string>]> = [
  [
    'U__ label name decoded (upstream)',
    false,
    'j',
    ['label_name1', 'label_value1', 'U__label_2e_name2', 'label_value2'],
    { job: 'j', label_name1: 'label_value1', 'label.name2': 'label_value2' },
  ],
  [
    'U__ label name with base64 values (upstream)',
    false,
    'j',
    ['label_name1@base64', 'bGFiZWwvdmFsdWUx', 'U__label_2e_name2@base64', 'bGFiZWwvdmFsdWUy'],
    { job: 'j', label_name1: 'label/value1', 'label.name2': 'label/value2' },
  ],
  [
    'base64 job, instance and U__ name (upstream)',
    true,
    'dGVzdC9qb2I=',
    ['instance@base64', 'dGVzdGluc3RhbmNl', 'U__dotted_2e_label_2e_name@base64', 'bXlsYWJlbHZhbHVl'],
    { job: 'test/job', instance: 'testinstance', 'dotted.label.name': 'mylabelvalue' },
  ],
  ['README example', false, 'example', ['U__foo_2e_bar', 'baz'], { job: 'example', 'foo.bar': 'baz' }],
  ['escaped underscores', false, 'j', ['U__a__b_2e_c', 'v'], { job: 'j', 'a_b.c': 'v' }],
  ['a name that starts with U__ itself (README)', false, 'j', ['U___55_____', 'v'], { job: 'j', U__: 'v' }],
  ['upper-case hex digits, astral code point', false, 'j', ['U__x_1F60A_', 'v'], { job: 'j', 'x😊': 'v' }],
  ['percent-encoded U__ name', false, 'j', ['U__a%5F2e%5Fb', 'v'], { job: 'j', 'a.b': 'v' }],
  ['invalid encoding left as it is (README)', false, 'j', ['U__in_xxx_valid', 'v'], { job: 'j', U__in_xxx_valid: 'v' }],
  [
    'a name without U__ may be any UTF-8',
    false,
    'j',
    ['a.b', '1', '1st', '2', '%C3%A9t%C3%A9', '3'],
    { job: 'j', 'a.b': '1', '1st': '2', été: '3' },
  ],
  ['classic names unchanged', false, 'j', ['instance', 'i', 'zone', 'eu'], { job: 'j', instance: 'i', zone: 'eu' }],
  // The `__` prefix is checked on the name as sent; the consistency check refuses the decoded one.
  ['a decoded __ prefix passes the path check', false, 'j', ['U___5f__5f_x', 'v'], { job: 'j', __x: 'v' }],
];
for (const [name, b64, job, labels, want] of okUtf8) {
  test(`grouping key utf8: ${name}`, () =>
    assert.deepEqual(parseGroupingKey(b64, job, labels, UTF8), { ok: true, labels: want }));
}

const badUtf8: Array<[string, string[], string]> = [
  ['reserved prefix as sent', ['__x', 'v'], 'improper label name "__x"'],
  ['U__ alone decodes to the empty name', ['U__', 'v'], 'improper label name "U__"'],
  ['invalid UTF-8', ['a%FFb', 'v'], 'improper label name "a\\xffb"'],
  ['invalid UTF-8 after U__', ['U__a%FF', 'v'], 'improper label name "U__a\\xff"'],
  [
    'bad base64 after a U__ name',
    ['U__a_2e_b@base64', '!!'],
    'invalid base64 encoding for label U__a_2e_b="!!": illegal base64 data at input byte 0',
  ],
];
for (const [name, labels, message] of badUtf8) {
  test(`grouping key utf8 error: ${name}`, () =>
    assert.deepEqual(parseGroupingKey(false, 'j', labels, UTF8), { ok: false, message }));
}

test('grouping key: without the option, U__ names stay as sent and UTF-8 names are improper (upstream)', () => {
  assert.deepEqual(parseGroupingKey(false, 'j', ['label_name1', 'label_value1', 'U__label_2e_name2', 'label_value2']), {
    ok: true,
    labels: { job: 'j', label_name1: 'label_value1', U__label_2e_name2: 'label_value2' },
  });
  assert.deepEqual(parseGroupingKey(false, 'j', ['a.b', 'v']), { ok: false, message: 'improper label name "a.b"' });
});

test('grouping key utf8: a name decoding to __proto__ is kept as a label', () => {
  const r = parseGroupingKey(false, 'j', ['U______proto____', 'v'], UTF8);
  assert.ok(r.ok);
  assert.deepEqual(Object.entries(r.labels), [
    ['__proto__', 'v'],
    ['job', 'j'],
  ]);
});

test('unescapeName: model.UnescapeName with ValueEncodingEscaping', () => {
  const same = (s: string) => assert.equal(unescapeName(s), s, s);
  assert.equal(unescapeName('U__foo_2e_bar'), 'foo.bar');
  assert.equal(unescapeName('U__foo_2E_bar'), 'foo.bar');
  assert.equal(unescapeName('U__a_0_b'), 'a\u0000b');
  assert.equal(unescapeName('U__'), '');
  assert.equal(unescapeName('U__ÿ_2e_'), 'ÿ.'); // other characters stand for themselves
  assert.equal(unescapeName('U___FFFFF_'), '\u{fffff}');
  same('foo_2e_bar'); // no prefix
  same('u__foo_2e_bar'); // the prefix is case-sensitive
  same('U__foo_'); // lone '_' at the end
  same('U__foo_2e'); // no closing '_'
  same('U__foo_2g_'); // not hex
  same('U__x_10FFFF_'); // six digits: Go gives up before the closing '_'
  same('U__x_d800_'); // a surrogate
  same('U__x_'); // nothing after '_'
  // Go's lower() reads the control bytes 0x10-0x19 as the digits 0-9.
  assert.equal(unescapeName('U__x_\u0012\u0019_'), 'x)');
});

test('escapeName(values) and unescapeName round-trip', () => {
  for (const name of ['foo.bar', 'a_b.c', 'U__.', '日本語', 'x😊y', 'with space', '1st', 'a:b.c', '_x.']) {
    const escaped = escapeName(name, 'values');
    assert.match(escaped, /^U__[a-zA-Z0-9_:]*$/, escaped);
    assert.equal(unescapeName(escaped), name, escaped);
  }
  assert.equal(escapeName('foo.bar', 'values'), 'U__foo_2e_bar');
  // A classic name is not escaped, so one starting with U__ does not round-trip (the README's
  // U___55_____ is how a pusher sends the name U__).
  assert.equal(escapeName('U__', 'values'), 'U__');
  assert.equal(unescapeName('U__'), '');
});
