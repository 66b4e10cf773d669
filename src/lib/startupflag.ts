// A numeric V8 flag as node was started with it: the gateway adapts to its own settings (the heap's
// growth step, the young generation's size) whether they came from nodeflags.ts, NODE_OPTIONS or a
// command line of the user's.

/**
 * The value of `--<name>=N` node was started with (command line or NODE_OPTIONS, the last one
 * given wins; V8 reads `-` and `_` alike), or undefined without one.
 */
export function startupFlag(
  name: string,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): number | undefined {
  const pattern = new RegExp(`^--${name.replace(/[-_]/g, '[-_]')}=(\\d+)$`);
  let value: number | undefined;
  for (const arg of [...(nodeOptions ?? '').split(/\s+/), ...execArgv]) {
    const m = pattern.exec(arg);
    if (m !== null) value = Number(m[1]);
  }
  return value;
}
