// PUT/POST/DELETE on push paths. Writes to one group are applied in the order their requests
// arrived, and a response goes out only after its write is applied (read-your-writes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseTextBytes } from '../parse/text.js';
import { parseProtobufDelimited } from '../parse/protobuf.js';
import { endsWithOpenMetricsEof, isOpenMetrics, parseOpenMetricsBytes } from '../parse/openmetrics.js';
import { groupId } from '../store/grouping.js';
import type { MetricStore } from '../store/types.js';
import type { MetricFamily } from '../model.js';
import type { PushLimits } from '../config.js';
import { decodeContent, readBody } from './body.js';
import { HttpError } from './errors.js';
import { sendError } from './respond.js';

export interface PushOptions {
  store: MetricStore;
  check: boolean;
  limits: PushLimits;
  log: Logger;
  /** --push.enable-utf8-names: quoted UTF-8 names in text pushes. */
  utf8Names?: boolean;
}

/** The first limit a push breaks, as [status, sentence], or undefined. */
export function overLimit(families: MetricFamily[], labels: Record<string, string>, limits: PushLimits): [number, string] | undefined {
  const long = (kind: string, what: string, len: number, max: number, flag: string): [number, string] => [
    400,
    `${kind} ${JSON.stringify(what.length > 80 ? what.slice(0, 80) + '…' : what)} is ${len} bytes long, more than the limit of ${max} bytes (--${flag})`,
  ];
  for (const [name, value] of Object.entries(labels)) {
    const len = Buffer.byteLength(value);
    if (len > limits.maxLabelValueLength) return long(`grouping label ${name} value`, value, len, limits.maxLabelValueLength, 'push.max-label-value-length');
  }
  let series = 0;
  for (const mf of families) {
    series += mf.metrics.length;
    if (series > limits.maxSeries) {
      const total = families.reduce((n, f) => n + f.metrics.length, 0);
      return [413, `the push carries ${total} series, more than the limit of ${limits.maxSeries} (--push.max-series-per-push)`];
    }
    if (mf.name.length > limits.maxNameLength) return long('metric name', mf.name, mf.name.length, limits.maxNameLength, 'push.max-name-length');
    for (const m of mf.metrics) {
      for (const lp of m.labels) {
        if (lp.name.length > limits.maxNameLength) return long('label name', lp.name, lp.name.length, limits.maxNameLength, 'push.max-name-length');
        if (lp.value.length > limits.maxLabelValueLength / 3) {
          const len = Buffer.byteLength(lp.value);
          if (len > limits.maxLabelValueLength) return long(`label ${lp.name} value`, lp.value, len, limits.maxLabelValueLength, 'push.max-label-value-length');
        }
      }
    }
  }
  return undefined;
}

const PROTOBUF_TYPE = 'application/vnd.google.protobuf';

/** Per-group FIFO of pending writes. */
class GroupQueues {
  private readonly tails = new Map<string, Promise<void>>();

  run(id: string, task: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    const next = prev.then(task, task);
    this.tails.set(id, next);
    void next.finally(() => {
      if (this.tails.get(id) === next) this.tails.delete(id);
    });
    return next;
  }
}

export function isProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [media, ...params] = contentType.split(';').map((s) => s.trim());
  if (media.toLowerCase() !== PROTOBUF_TYPE) return false;
  const p = new Map(params.map((kv) => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq).trim().toLowerCase(), kv.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')] as const;
  }));
  return p.get('encoding') === 'delimited' && p.get('proto') === 'io.prometheus.client.MetricFamily';
}

/**
 * Families from a push body by its Content-Type: delimited protobuf, OpenMetrics text, or the
 * text format. prom-client's OpenMetrics registries send no Content-Type at all: a body without
 * one that ends in `# EOF` is read as OpenMetrics, falling back to the text format's verdict.
 */
export function parseBody(contentType: string | undefined, raw: Buffer, utf8Names = false): MetricFamily[] {
  if (isProtobuf(contentType)) return parseProtobufDelimited(raw);
  if (isOpenMetrics(contentType)) return parseOpenMetricsBytes(raw);
  if (contentType === undefined && endsWithOpenMetricsEof(raw)) {
    try {
      return parseOpenMetricsBytes(raw);
    } catch (openMetricsError) {
      try {
        return parseTextBytes(raw, { utf8Names });
      } catch {
        throw openMetricsError;
      }
    }
  }
  return parseTextBytes(raw, { utf8Names });
}

export function createPushHandlers(opts: PushOptions) {
  const queues = new GroupQueues();

  /** Handles a push whose grouping labels are already parsed; resolves to the status sent. */
  function push(req: IncomingMessage, res: ServerResponse, labels: Record<string, string>, replace: boolean): Promise<number> {
    const bodyPromise = readBody(req, opts.limits.maxBodyBytes);
    bodyPromise.catch(() => undefined); // handled in order below
    let status = 0;
    return queues
      .run(groupId(labels), async () => {
        let raw: Buffer;
        try {
          raw = decodeContent(req.headers['content-encoding'], await bodyPromise, opts.limits.maxBodyBytes);
        } catch (e) {
          status = e instanceof HttpError ? sendError(res, e.status, e.message) : sendError(res, 400, String(e));
          return;
        }
        let families;
        try {
          families = parseBody(req.headers['content-type'], raw, opts.utf8Names);
        } catch (e) {
          const message = (e as Error).message;
          opts.log.debug({ source: req.socket.remoteAddress, err: message }, 'failed to parse push body');
          status = sendError(res, 400, message);
          return;
        }
        const over = overLimit(families, labels, opts.limits);
        if (over !== undefined) {
          status = sendError(res, over[0], over[1]);
          return;
        }
        const result = opts.store.write({ labels, families, replace, check: opts.check, timestampMs: nowMs() });
        await opts.store.durable();
        if (!opts.check) {
          status = 202;
        } else if (result.ok) {
          status = 200;
        } else {
          opts.log.error(
            { method: req.method, source: req.socket.remoteAddress, err: result.error },
            'pushed metrics are invalid or inconsistent with existing metrics',
          );
          status = sendError(res, 400, `pushed metrics are invalid or inconsistent with existing metrics: ${result.error}`);
          return;
        }
        res.writeHead(status, { 'Content-Length': '0' });
        res.end();
      })
      .then(() => status);
  }

  function remove(res: ServerResponse, labels: Record<string, string>): Promise<number> {
    return queues
      .run(groupId(labels), async () => {
        opts.store.delete(labels);
        await opts.store.durable();
        res.writeHead(202, { 'Content-Length': '0' });
        res.end();
      })
      .then(() => 202);
  }

  return { push, remove };
}

/** Wall-clock milliseconds, with sub-millisecond digits (the reference reports nanoseconds). */
export function nowMs(): number {
  return Date.now() + (performance.now() % 1);
}
