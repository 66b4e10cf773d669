import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtobuf, PROTOBUF_CONTENT_TYPE } from './contenttype.js';

// [Content-Type, read as delimited protobuf], as the reference's mime.ParseMediaType reading
// decides: media type and parameter names are case-insensitive, values case-sensitive, quotes
// around values removed, both parameters required.
const rows: Array<[string | undefined, boolean]> = [
  [undefined, false],
  ['', false],
  [PROTOBUF_CONTENT_TYPE, true],
  ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited', true],
  ['Application/Vnd.Google.Protobuf; Proto=io.prometheus.client.MetricFamily; ENCODING=delimited', true],
  ['application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding="delimited"', true],
  ['application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily', true],
  ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily', false],
  ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text', false],
  ['application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=Delimited', false],
  ['application/vnd.google.protobuf; proto=other.Message; encoding=delimited', false],
  ['application/vnd.google.protobuf', false],
  ['text/plain; version=0.0.4', false],
];

for (const [contentType, want] of rows) {
  test(`isProtobuf(${JSON.stringify(contentType)})`, () => assert.equal(isProtobuf(contentType), want));
}
