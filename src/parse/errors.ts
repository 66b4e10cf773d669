// One type for "the input is not valid", whatever the format: the HTTP layer answers such an
// error with 400 and its message, and anything else a parser throws with 500, since that is a bug
// here rather than a bad push.

/** The base of every parser's input error. Each subclass keeps the reference's message wording. */
export class ParseError extends Error {}
