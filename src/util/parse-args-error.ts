/**
 * One line for an error of `util.parseArgs`. Node's message for an unknown option suggests `-- "--x"`
 * with nested quotes ('-- "--help"'), which reads as garbled on a terminal and points at the wrong fix.
 */

/** A usage-error line for `err` thrown by `parseArgs` (any other error: its message). */
export function parseArgsErrorMessage(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = String(e.message ?? err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (option !== undefined) return `unknown option ${option}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /^Unexpected argument '([^']*)'/.exec(message)?.[1];
    if (arg !== undefined) return `unexpected argument ${arg}`;
  }
  // "Option '-p, --port <value>' argument missing" and the like read fine as they are.
  return message.replace(/\.$/, '');
}
