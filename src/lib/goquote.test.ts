import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGoString } from './gostring.js';
import { goQuote, goQuoteBytes, goQuoteRune, protoTextQuote, timeQuote } from './goquote.js';

// [UTF-8 bytes in hex, strconv.Quote of them], printed by Go 1.19 (the reference's version) with
// a small program: controls, the named escapes, non-printable code points of every kind
// (Zs other than space, Zl, Zp, Cf, Cc, Co, Cn, noncharacters) and invalid UTF-8.
const quoted: Array<[string, string]> = [
  ['', '""'],
  ['616263', '"abc"'],
  ['612062', '"a b"'],
  ['7461620968657265', '"tab\\there"'],
  ['6e6c0a78', '"nl\\nx"'],
  ['63720d', '"cr\\r"'],
  ['07080c0b', '"\\a\\b\\f\\v"'],
  ['00011f7f', '"\\x00\\x01\\x1f\\x7f"'],
  ['71227327625c', '"q\\"s\'b\\\\"'],
  ['c2a0', '"\\u00a0"'],
  ['61e2808b62', '"a\\u200bb"'],
  ['e280a8e280a9', '"\\u2028\\u2029"'],
  ['efbbbf', '"\\ufeff"'],
  ['efbfbd', '"\ufffd"'],
  ['c2ad', '"\\u00ad"'],
  ['c285', '"\\u0085"'],
  ['ee8080', '"\\ue000"'],
  ['f09f9880', '"\ud83d\ude00"'],
  ['f3a08081', '"\\U000e0001"'],
  ['f48fbfbf', '"\\U0010ffff"'],
  ['efbfbf', '"\\uffff"'],
  ['cdb8', '"\\u0378"'],
  ['e38080', '"\\u3000"'],
  ['e19a80', '"\\u1680"'],
  ['cc81', '"\u0301"'],
  ['65cc81', '"e\u0301"'],
  ['c3a9', '"\u00e9"'],
  ['e282ac', '"\u20ac"'],
  ['e697a5e69cac', '"\u65e5\u672c"'],
  ['d89c', '"\\u061c"'],
  ['e281a6', '"\\u2066"'],
  ['f09d85b3', '"\\U0001d173"'],
  ['ff', '"\\xff"'],
  ['618062', '"a\\x80b"'],
  ['eda080', '"\\xed\\xa0\\x80"'],
  ['c0af', '"\\xc0\\xaf"'],
  ['e282', '"\\xe2\\x82"'],
  ['f4908080', '"\\xf4\\x90\\x80\\x80"'],
  ['d880', '"\\u0600"'],
  ['e281a2', '"\\u2062"'],
  ['f3b08080', '"\\U000f0000"'],
  ['e0a2a0', '"\u08a0"'],
  ['f096bfa4', '"\ud81b\udfe4"'],
  ['f09f9b95', '"\ud83d\uded5"'],
];

for (const [hex, want] of quoted) {
  test(`goQuote of bytes ${hex || '(none)'}`, () => {
    const bytes = Buffer.from(hex, 'hex');
    assert.equal(goQuoteBytes(bytes), want);
    assert.equal(goQuote(decodeGoString(bytes)), want);
  });
}

test('goQuote of a lone surrogate outside U+DC80..U+DCFF quotes its WTF-8 bytes', () => {
  assert.equal(goQuote('a\ud800'), '"a\\xed\\xa0\\x80"');
});

// [rune, strconv.QuoteRune of it] (what %q prints for a byte), from the same Go program.
const runes: Array<[number, string]> = [
  [0, "'\\x00'"],
  [7, "'\\a'"],
  [10, "'\\n'"],
  [0x27, "'\\''"],
  [0x22, "'\"'"],
  [0x5c, "'\\\\'"],
  [0x41, "'A'"],
  [0x7f, "'\\x7f'"],
  [0x80, "'\\u0080'"],
  [0xa0, "'\\u00a0'"],
  [0xad, "'\\u00ad'"],
  [0xc3, "'\u00c3'"],
  [0xff, "'\u00ff'"],
];

for (const [r, want] of runes) {
  test(`goQuoteRune(${r})`, () => assert.equal(goQuoteRune(r), want));
}

// golang/protobuf 1.3's writeString: bytes, octal for all but printable ASCII and the named
// escapes; the reference's consistency errors show `value:"\377\376"` for the bytes ff fe.
const protoQuoted: Array<[string, string]> = [
  ['', '""'],
  ['a"b\\c\'d', '"a\\"b\\\\c\'d"'],
  ['\t\n\r', '"\\t\\n\\r"'],
  ['\x00\x07\x7f', '"\\000\\007\\177"'],
  ['\udcff\udcfe', '"\\377\\376"'],
  ['\u00a0', '"\\302\\240"'],
  ['\u{1f600}', '"\\360\\237\\230\\200"'],
];

for (const [s, want] of protoQuoted) {
  test(`protoTextQuote(${JSON.stringify(s)})`, () => assert.equal(protoTextQuote(s), want));
}

// [string, how time.ParseDuration's error quotes it], from Go 1.19.
const timeQuoted: Array<[string, string]> = [
  ['x', '"x"'],
  ['a"b\\c', '"a\\"b\\\\c"'],
  ['tab\t', '"tab\\x09"'],
  ['\u00e9', '"\\xc3\\xa9"'],
  ['\u00a0', '"\\xc2\\xa0"'],
  ['\udcff', '"\\xff"'],
  ['\ufffd', '"\\xef\\xbf\\xbd"'],
  ['\u{1f600}', '"\\xf0\\x9f\\x98\\x80"'],
];

for (const [s, want] of timeQuoted) {
  test(`timeQuote(${JSON.stringify(s)})`, () => assert.equal(timeQuote(s), want));
}
