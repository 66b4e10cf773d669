// Errors that carry their answer. Whatever a handler throws is answered in one place
// (`sendFailure`): an HttpError with its status and sentence, anything else as a 500 with a log
// line, since it is a fault of ours and not of the request.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../store/types.js';
import { sendError } from './respond.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A push the store's limits refused: the gateway is full, the push itself may be fine. */
export class StoreFullError extends HttpError {
  constructor(message: string) {
    super(503, message);
  }
}

/** 503: the store cannot take the change now (it logs that once, not on every request). */
export class UnavailableError extends HttpError {
  constructor(message: string) {
    super(503, message);
  }
}

/** 403: the credential is known but its permissions (web config `authorization`) do not cover the request. */
export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, message);
  }
}

/** Answers a thrown error (unless an answer is under way); returns the status sent. */
export function sendFailure(res: ServerResponse, err: unknown, log: Logger, url: string | undefined): number {
  if (err instanceof StoreUnavailableError) err = new UnavailableError(err.message);
  if (err instanceof HttpError) {
    if (res.headersSent) {
      res.destroy();
      return err.status;
    }
    return sendError(res, err.status, err.message);
  }
  log.error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err), url }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return 500;
  }
  return sendError(res, 500, 'internal server error');
}
