// Number formatting exactly as the Go Pushgateway prints it. Go's strconv 'g' with shortest
// precision switches to exponent form at 1e-5 and 1e+06 (JavaScript only at 1e-7 and 1e21), and
// pads the exponent to two digits, so JavaScript's own toString is only usable in between.

/** Go's strconv.FormatFloat(v, 'g', -1, 64), with fmt's spelling of the infinities. */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = v < 0 ? -v : v;
  if ((abs >= 1e-4 && abs < 1e6) || v === 0) return Object.is(v, -0) ? '-0' : String(v);
  const s = v.toExponential();
  const e = s.indexOf('e');
  const exp = Number(s.slice(e + 1));
  const mantissa = s.slice(0, e);
  const a = exp < 0 ? -exp : exp;
  return `${mantissa}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
}

/** The text exposition format's float: like Go's, but negative zero prints as "0". */
export function formatSampleValue(v: number): string {
  return v === 0 ? '0' : formatGoFloat(v);
}

/** A uint64 count (bucket or sample count), printed as Go prints integers. */
export function formatCount(v: number): string {
  return Number.isSafeInteger(v) ? String(v) : BigInt(Math.trunc(v)).toString();
}
