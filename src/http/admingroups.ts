// Groups by selector (docs/expiry.md): GET /api/v1/groups?match[]=… lists the groups that
// DELETE /api/v1/admin/groups?match[]=… deletes, each through the store's delete, as a DELETE of
// its push path would. Both only with --web.enable-admin-api: a selector's regular expressions are
// the client's and run on the gateway's one thread in a backtracking engine (`{job=~"(a|a)*b"}`
// against a 30-character value takes minutes), so only clients trusted to delete get to send them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { matchingAny, parseSelector, SELECTORS_NEED_ADMIN, SelectorError, type Selector } from '../store/selector.js';
import type { MetricStore } from '../store/types.js';

export const MATCH = 'match[]';

function params(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/** Whether the request names groups by selector. */
export function hasMatch(req: IncomingMessage): boolean {
  return (req.url ?? '').includes('match') && params(req).has(MATCH);
}

function json(res: ServerResponse, status: number, body: unknown): number {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
  });
  res.end(bytes);
  return status;
}

/** The request's selectors, or the 400 that says what is wrong with them (undefined then). */
function selectors(req: IncomingMessage, res: ServerResponse): Selector[] | undefined {
  const texts = params(req).getAll(MATCH);
  const bad = (error: string) => void json(res, 400, { status: 'error', errorType: 'bad_data', error });
  if (texts.length === 0) {
    bad('no match[] parameter: give at least one selector, such as match[]={job="batch"}');
    return undefined;
  }
  const out: Selector[] = [];
  for (const text of texts) {
    try {
      out.push(parseSelector(text));
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      bad(`invalid match[]: ${e.message}`);
      return undefined;
    }
  }
  return out;
}

export function createGroupSelection(store: MetricStore, log: Logger, admin: boolean) {
  const list = (req: IncomingMessage, res: ServerResponse): number => {
    if (!admin) return json(res, 403, { status: 'error', errorType: 'forbidden', error: SELECTORS_NEED_ADMIN });
    const sel = selectors(req, res);
    if (sel === undefined) return 400;
    // In grouping-key order, as /api/v1/metrics lists groups.
    const matched = matchingAny(store.groups(), sel).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const groups = matched.map((g) => g.labels);
    return json(res, 200, { status: 'success', data: { matched: groups.length, groups } });
  };

  const remove = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const sel = selectors(req, res);
    if (sel === undefined) return 400;
    const groups = matchingAny(store.groups(), sel);
    await Promise.all(groups.map((g) => store.delete(g.labels)));
    log.info({ groups: groups.length, match: params(req).getAll(MATCH) }, 'groups deleted by selector');
    return json(res, 202, { status: 'success', data: { deleted: groups.length } });
  };

  return { list, remove };
}
