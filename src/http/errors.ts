// An error that carries the HTTP status to answer it with; its message is the response body.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
