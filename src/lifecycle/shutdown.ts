/**
 * How a running process ends: the first SIGTERM or SIGINT starts one graceful close; a repeated SIGTERM
 * is logged and ignored (a supervisor that signals twice must not kill a drain half-way); a second SIGINT
 * (Ctrl-C again at a terminal) cuts what is still in flight. An uncaught exception or unhandled rejection
 * is logged and also starts the close, and the process then exits 1. A close that rejects is logged and
 * exits 1, never an unhandled rejection; a close that hangs is ended by a hard deadline.
 */

const MAX_FATAL_LOGS = 5;

/** What `installShutdown` needs of the process (the real `process` in the CLI, a fake in tests). */
export interface ShutdownProcess {
  on(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  on(event: 'uncaughtException', listener: (err: Error) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export interface ShutdownOptions {
  /** The graceful close (drain, then close every listener, pool and store). */
  readonly close: () => Promise<void>;
  /** Cut a close in progress: end the drain's waiting now. */
  readonly cut?: () => unknown;
  /** After this long from the first signal the process exits 1 whatever is still running. */
  readonly hardDeadlineMs: number;
  /** One line per step; `level` is 'error' for failures (the CLI writes them as JSON). */
  readonly log: (line: string, level?: 'info' | 'warn' | 'error') => void;
  readonly exit: (code: number) => void;
  readonly proc?: ShutdownProcess;
  /** Timer for the hard deadline (unref'd in the real process, so it never keeps it alive). */
  readonly setTimer?: (fn: () => void, ms: number) => void;
}

export interface Shutdown {
  /** Start the close (idempotent); `code` is the exit code unless something fails on the way. */
  begin(reason: string, code?: number): void;
  /** Whether the close has started. */
  readonly started: boolean;
}

/** Wire signals and fatal errors of `proc` to one graceful close. */
export function installShutdown(opts: ShutdownOptions): Shutdown {
  const proc = opts.proc ?? process;
  const setTimer = opts.setTimer ?? ((fn: () => void, ms: number) => void setTimeout(fn, ms).unref());
  let started = false;
  let exitCode = 0;
  let cut = false;
  const begin = (reason: string, code = 0): void => {
    exitCode = Math.max(exitCode, code);
    if (started) return;
    started = true;
    opts.log(`${reason}: draining`);
    setTimer(() => {
      opts.log(`regiongate: shutdown did not finish within ${opts.hardDeadlineMs} ms; exiting`, 'error');
      opts.exit(1);
    }, opts.hardDeadlineMs);
    opts.close().then(
      () => opts.exit(exitCode),
      (err: unknown) => {
        opts.log(`regiongate: error while shutting down: ${describe(err)}`, 'error');
        opts.exit(1);
      },
    );
  };
  proc.on('SIGTERM', () => {
    if (started) opts.log('SIGTERM: already draining');
    else begin('SIGTERM');
  });
  proc.on('SIGINT', () => {
    if (!started) return begin('SIGINT');
    if (cut || opts.cut === undefined) return opts.log('SIGINT: already draining');
    cut = true;
    opts.log('SIGINT again: cutting what is still in flight');
    void Promise.resolve()
      .then(() => opts.cut?.())
      .catch((err: unknown) => opts.log(`regiongate: error while cutting the drain: ${describe(err)}`, 'error'));
  });
  // Node's defaults print and exit at once, mid-request; instead, log and end like a signal, with code 1.
  // Only the first few are logged: when the log itself fails (stderr a closed pipe), logging each
  // error would raise the next one, for ever.
  let fatal = 0;
  const onFatal = (what: string, err: unknown): void => {
    if (fatal++ < MAX_FATAL_LOGS) opts.log(`regiongate: ${what}: ${describe(err)}`, 'error');
    begin(what, 1);
  };
  proc.on('uncaughtException', (err) => onFatal('uncaught exception', err));
  proc.on('unhandledRejection', (reason) => onFatal('unhandled rejection', reason));
  return {
    begin,
    get started() {
      return started;
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
