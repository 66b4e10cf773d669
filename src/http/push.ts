// PUT/POST/DELETE on push paths. Writes to one group are applied in the order their requests
// arrived, and a response goes out only after its write is applied (read-your-writes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseTextBytes, parseTextBytesSliced } from '../parse/text.js';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import { isProtobuf } from '../lib/contenttype.js';
import { endsWithOpenMetricsEof, isOpenMetrics, parseOpenMetricsBytes } from '../parse/openmetrics.js';
import type { MetricStore, TextBody } from '../store/types.js';
import type { MetricFamily } from '../model.js';
import type { PushLimits } from '../config.js';
import { decodeContent, readBody } from './body.js';
import { HttpError, StoreFullError } from './errors.js';
import { ParseError } from '../parse/errors.js';
import { runNow, runSliced } from '../store/slices.js';
import { joinHostPort } from '../lib/hostport.js';
import { parseTtlHeader } from './ttlheader.js';
import { heapRoom, type HeapLease } from './heaproom.js';

export interface PushOptions {
  store: MetricStore;
  check: boolean;
  limits: PushLimits;
  log: Logger;
  /** --push.enable-utf8-names: quoted UTF-8 names in text pushes. */
  utf8Names?: boolean;
}

/** The first limit a push breaks, as [status, sentence], or undefined. */
export function overLimit(
  families: MetricFamily[],
  labels: Record<string, string>,
  limits: PushLimits,
): [number, string] | undefined {
  return runNow(limitSteps(families, labels, limits));
}

function long(kind: string, what: string, len: number, max: number, flag: string): [number, string] {
  return [
    400,
    `${kind} ${JSON.stringify(what.length > 80 ? what.slice(0, 80) + '…' : what)} is ${len} bytes long, more than the limit of ${max} bytes (--${flag})`,
  ];
}

/** The checks of overLimit, pausing (yielding) after every STEP_SERIES series. */
function* limitSteps(
  families: MetricFamily[],
  labels: Record<string, string>,
  limits: PushLimits,
): Generator<void, [number, string] | undefined> {
  // Indexed loops: for-of in a generator leaves an iterator result per step, per label of every series.
  const names = Object.keys(labels);
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    const value = labels[name];
    const len = Buffer.byteLength(value);
    if (len > limits.maxLabelValueLength)
      return long(
        `grouping label ${name} value`,
        value,
        len,
        limits.maxLabelValueLength,
        'push.max-label-value-length',
      );
  }
  let series = 0;
  for (let f = 0; f < families.length; f++) {
    const mf = families[f];
    series += mf.metrics.length;
    if (series > limits.maxSeries) {
      const total = families.reduce((n, f) => n + f.metrics.length, 0);
      return [
        413,
        `the push carries ${total} series, more than the limit of ${limits.maxSeries} (--push.max-series-per-push)`,
      ];
    }
    if (mf.name.length > limits.maxNameLength)
      return long('metric name', mf.name, mf.name.length, limits.maxNameLength, 'push.max-name-length');
    for (let i = 0; i < mf.metrics.length; i++) {
      if (i % STEP_SERIES === STEP_SERIES - 1) yield;
      const pairs = mf.metrics[i].labels;
      for (let j = 0; j < pairs.length; j++) {
        const lp = pairs[j];
        if (lp.name.length > limits.maxNameLength)
          return long('label name', lp.name, lp.name.length, limits.maxNameLength, 'push.max-name-length');
        if (lp.value.length > limits.maxLabelValueLength / 3) {
          const len = Buffer.byteLength(lp.value);
          if (len > limits.maxLabelValueLength)
            return long(
              `label ${lp.name} value`,
              lp.value,
              len,
              limits.maxLabelValueLength,
              'push.max-label-value-length',
            );
        }
      }
    }
  }
  return undefined;
}

const STEP_SERIES = 1024;

/**
 * How a push body is read, by its Content-Type: delimited protobuf, OpenMetrics text, or the text
 * format. prom-client's OpenMetrics registries send no Content-Type at all: a body without one
 * that ends in `# EOF` is read as OpenMetrics, falling back to the text format's verdict ('guess').
 */
function bodyFormat(contentType: string | undefined, raw: Buffer): 'protobuf' | 'openmetrics' | 'guess' | 'text' {
  if (isProtobuf(contentType)) return 'protobuf';
  if (isOpenMetrics(contentType)) return 'openmetrics';
  if (contentType === undefined && endsWithOpenMetricsEof(raw)) return 'guess';
  return 'text';
}

/** Families from a push body, read as bodyFormat says. */
async function parseBody(contentType: string | undefined, raw: Buffer, utf8Names = false): Promise<MetricFamily[]> {
  const format = bodyFormat(contentType, raw);
  if (format === 'protobuf') return parseProtobufDelimited(raw);
  if (format === 'openmetrics') return parseOpenMetricsBytes(raw);
  if (format === 'guess') {
    try {
      return parseOpenMetricsBytes(raw);
    } catch (openMetricsError) {
      if (!(openMetricsError instanceof ParseError)) throw openMetricsError;
      try {
        return parseTextBytes(raw, { utf8Names });
      } catch (textError) {
        throw textError instanceof ParseError ? openMetricsError : textError;
      }
    }
  }
  // A large body is parsed a slice at a time, so health checks and other pushes go on meanwhile.
  if (raw.length > SLICED_PARSE_BYTES) return parseTextBytesSliced(raw, { utf8Names });
  return parseTextBytes(raw, { utf8Names });
}

/** Above this size a text body is parsed in slices (~10 ms each); below, at once (the usual push). */
const SLICED_PARSE_BYTES = 256 * 1024;

/** The pushes read in this pass of the event loop, waiting for its check phase. */
let readThisPass: Array<() => void> | undefined;

/**
 * Resolves in the check phase of this pass of the event loop, after the sockets it read. One
 * setImmediate for all the pushes read in the pass, resumed in one microtask checkpoint: they go
 * through parse, check and write together and their answers leave back to back, so a client's
 * thread is woken once for them rather than once per answer (fixed store: 115 → 92 µs a push;
 * with a timers/promises setImmediate each, every push went through alone).
 */
function afterThisPass(): Promise<void> {
  return new Promise((resolve) => {
    if (readThisPass === undefined) {
      readThisPass = [];
      setImmediate(resumeThisPass);
    }
    readThisPass.push(resolve);
  });
}

function resumeThisPass(): void {
  const waiting = readThisPass ?? [];
  readThisPass = undefined;
  for (let k = 0; k < waiting.length; k++) waiting[k]();
}

/** The client as the reference's log lines name it: address and port (Go's RemoteAddr). */
function source(req: IncomingMessage): string {
  return joinHostPort(req.socket.remoteAddress, req.socket.remotePort);
}

export function createPushHandlers(opts: PushOptions) {
  /**
   * The families a push carries, once its body has arrived, or for the usual text push its body
   * (parsed by the store unless it fits its group's last shape, store/repush.ts); an HttpError
   * when they are refused. A large body widens the heap's growth step (heaproom.ts) until the push
   * releases `room`.
   */
  async function pushedFamilies(
    req: IncomingMessage,
    labels: Record<string, string>,
    room: HeapLease,
  ): Promise<MetricFamily[] | TextBody> {
    const raw = decodeContent(
      req.headers['content-encoding'],
      await readBody(req, opts.limits.maxBodyBytes),
      opts.limits.maxBodyBytes,
    );
    // Parsed and written in the event loop's check phase, after the sockets of this pass are read:
    // a health check or scrape read in the same pass is answered first, not after every push read
    // before it (busy fleet: /-/healthy p99 72–94 → 42–60 ms, push p99 unchanged).
    await afterThisPass();
    if (raw.length > SLICED_PARSE_BYTES) room.widen();
    const contentType = req.headers['content-type'];
    const parse = () => checkedFamilies(req, contentType, raw, labels);
    // UTF-8 names (opt-in) always take the parser: templates read only the classic syntax.
    if (raw.length <= SLICED_PARSE_BYTES && !opts.utf8Names && bodyFormat(contentType, raw) === 'text')
      return { text: raw, parse };
    return parse();
  }

  /** The families of a push body, parsed and within the limits; an HttpError otherwise. */
  async function checkedFamilies(
    req: IncomingMessage,
    contentType: string | undefined,
    raw: Buffer,
    labels: Record<string, string>,
  ): Promise<MetricFamily[]> {
    let families;
    try {
      families = await parseBody(contentType, raw, opts.utf8Names);
    } catch (e) {
      // Anything but a parse error is a fault of ours: a 500, not the client's 400.
      if (!(e instanceof ParseError)) throw e;
      // The reference's words, for protobuf bodies too.
      opts.log.debug({ source: source(req), err: e.message }, 'failed to parse text');
      throw new HttpError(400, e.message);
    }
    const over =
      raw.length > SLICED_PARSE_BYTES
        ? await runSliced(limitSteps(families, labels, opts.limits))
        : overLimit(families, labels, opts.limits);
    if (over !== undefined) throw new HttpError(over[0], over[1]);
    return families;
  }

  /**
   * Handles a push whose grouping labels are already parsed; resolves to the status sent. The
   * write takes its place in the group's order now, while the body is still arriving.
   */
  async function push(
    req: IncomingMessage,
    res: ServerResponse,
    labels: Record<string, string>,
    replace: boolean,
  ): Promise<number> {
    const ttl = req.headers['pushgateway-ttl'];
    const ttlMs = ttl === undefined ? undefined : parseTtlHeader(ttl);
    const room = heapRoom.lease();
    const families = pushedFamilies(req, labels, room);
    // The store awaits the body only at the group's turn: one that fails sooner (its client gone
    // while queued behind another push to the group) must not be an unhandled rejection.
    families.catch(() => {});
    let result;
    try {
      result = await opts.store.write({
        labels,
        families,
        replace,
        check: opts.check,
        ttlMs,
      });
    } finally {
      room.release();
    }
    if (!result.ok && result.refused !== undefined) {
      opts.log.warn({ method: req.method, source: source(req), err: result.error }, 'push refused');
      throw new StoreFullError(result.error);
    }
    if (!result.ok && opts.check) {
      opts.log.error(
        { method: req.method, source: source(req), err: result.error },
        'pushed metrics are invalid or inconsistent with existing metrics',
      );
      throw new HttpError(400, `pushed metrics are invalid or inconsistent with existing metrics: ${result.error}`);
    }
    const status = opts.check ? 200 : 202;
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
    return status;
  }

  async function remove(res: ServerResponse, labels: Record<string, string>): Promise<number> {
    await opts.store.delete(labels);
    res.writeHead(202, { 'Content-Length': '0' });
    res.end();
    return 202;
  }

  return { push, remove };
}
