// --log.audit: one log line (msg=audit, in the gateway's logfmt or JSON) for every push, delete,
// wipe, delete by matchers and expiry, with the credential, the source address, the grouping key
// and the result; and for failed authentications, at most one line per source per window, so a
// client guessing passwords cannot flood the log.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { joinHostPort } from '../lib/hostport.js';
import type { GroupingLabels, MetricStore } from '../store/types.js';
import { sourceOf } from './connections.js';
import { grantOf, groupText, type Credential } from './permissions.js';

export type AuditEvent = 'push' | 'delete' | 'wipe' | 'delete_by_match' | 'expire';

export interface AuditOptions {
  /** A source's failed authentications after its first are summed up over this window. */
  failureWindowMs?: number;
  /** Sources remembered for that; beyond, the oldest is forgotten (and may be logged again). */
  maxSources?: number;
  /** Failed-authentication lines per second in all, whatever the sources (many addresses). */
  maxFailureLinesPerSecond?: number;
}

/** How an audit line names a credential: `user:alice`, `token:ci`, `token:#2`, `anonymous`, `none`. */
export function credentialField(c: Credential | undefined): string {
  if (c === undefined) return 'none';
  return c.kind === 'anonymous' ? 'anonymous' : `${c.kind}:${c.name}`;
}

/** Address and port, as the reference's log lines name a client; the address alone when no port is known. */
function clientOf(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket;
  return remotePort === undefined ? (remoteAddress ?? '') : joinHostPort(remoteAddress, remotePort);
}

interface SourceFailures {
  windowStartMs: number;
  /** Failures not logged since the window started. */
  unlogged: number;
}

export class AuditLog {
  private readonly failures = new Map<string, SourceFailures>();
  private readonly windowMs: number;
  private readonly maxSources: number;
  private readonly maxLines: number;
  private secondStartMs = 0;
  private linesThisSecond = 0;
  /** Failure lines left out by the overall bound, reported with the next one logged. */
  private dropped = 0;

  constructor(
    private readonly log: Logger,
    options: AuditOptions = {},
  ) {
    this.windowMs = options.failureWindowMs ?? 10_000;
    this.maxSources = options.maxSources ?? 10_000;
    this.maxLines = options.maxFailureLinesPerSecond ?? 20;
  }

  /** A change a request asked for, once answered: `status` is what the client got. */
  change(
    req: IncomingMessage,
    event: AuditEvent,
    labels: GroupingLabels | undefined,
    status: number,
    extra = {},
  ): void {
    this.log.info(
      {
        event,
        credential: credentialField(grantOf(req)?.credential),
        source: clientOf(req),
        ...(labels === undefined ? {} : { group: groupText(labels) }),
        ...extra,
        status,
      },
      'audit',
    );
  }

  /** A request refused with 401; `claimed`: who it said it was (never the secret). */
  authFailure(req: IncomingMessage, claimed: string, nowMs = Date.now()): void {
    const source = sourceOf(req.socket.remoteAddress);
    let entry = this.failures.get(source);
    if (entry !== undefined && nowMs - entry.windowStartMs < this.windowMs) {
      entry.unlogged++;
      return;
    }
    const previous = entry?.unlogged ?? 0;
    if (entry === undefined) {
      if (this.failures.size >= this.maxSources) this.failures.delete(this.failures.keys().next().value as string);
      entry = { windowStartMs: nowMs, unlogged: 0 };
      this.failures.set(source, entry);
    } else {
      entry.windowStartMs = nowMs;
      entry.unlogged = 0;
      // Kept in the order of their windows' starts, so the oldest come first below.
      this.failures.delete(source);
      this.failures.set(source, entry);
    }
    if (nowMs - this.secondStartMs >= 1000) {
      this.secondStartMs = nowMs;
      this.linesThisSecond = 0;
    }
    if (this.linesThisSecond >= this.maxLines) {
      this.dropped += 1 + previous;
      return;
    }
    this.linesThisSecond++;
    const dropped = this.dropped;
    this.dropped = 0;
    this.log.warn(
      {
        event: 'auth_failure',
        credential: claimed,
        source: clientOf(req),
        status: 401,
        // Failures of this source not logged in its last window; of other sources, over the bound.
        ...(previous > 0 ? { more_from_source: previous } : {}),
        ...(dropped > 0 ? { more_from_others: dropped } : {}),
      },
      'audit',
    );
    // Forget sources whose window has passed, a few at a time, so the map holds recent ones.
    for (const [key, f] of this.failures) {
      if (nowMs - f.windowStartMs < this.windowMs) break;
      this.failures.delete(key);
    }
  }

  /**
   * Logs the store's expiries. An expiry is announced as a delete, and counted in `expiry.expired`
   * right after: a delete the count moved for, seen once the store's turn is over, is an expiry.
   */
  followExpiry(store: MetricStore): () => void {
    let seen = store.expiry.expired;
    return store.subscribe((change) => {
      const record = change.record;
      if (record === undefined || !('delete' in record)) return;
      const labels = record.delete;
      queueMicrotask(() => {
        if (store.expiry.expired <= seen) return;
        seen++;
        this.log.info({ event: 'expire', credential: 'none', group: groupText(labels), status: 'expired' }, 'audit');
      });
    });
  }
}
