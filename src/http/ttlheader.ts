// The Pushgateway-TTL header of a push (docs/expiry.md): the group's TTL from this push on.
import { parseGoDuration } from '../lib/duration.js';
import { HttpError } from './errors.js';

export const TTL_HEADER = 'Pushgateway-TTL';

/** Milliseconds (0: never expires); a 400 naming the header when the value is no duration of 0 or more. */
export function parseTtlHeader(value: string | string[]): number {
  const text = Array.isArray(value) ? value.join(', ') : value;
  let ms: number;
  try {
    ms = parseGoDuration(text.trim());
  } catch {
    ms = NaN;
  }
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new HttpError(
      400,
      `invalid ${TTL_HEADER} header ${JSON.stringify(text)}: expected a duration of 0 or more such as 30s, 5m or 1h30m ` +
        '(0s: the group never expires)',
    );
  }
  return ms;
}
