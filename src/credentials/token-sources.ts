/**
 * Where a refreshed token comes from: a file re-read when its mtime or size changes, or a command run
 * without a shell, with a timeout and bounded output. Both are asynchronous and run off the request path.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { parseTokenOutput, type IssuedToken } from './token-output.js';

/** A command's stdout is a token, not a document: more than this is an error. */
export const MAX_COMMAND_OUTPUT = 64 * 1024;

export interface TokenSource {
  /** A new token, or `unchanged` when the source has nothing new since the last call. */
  read(signal: AbortSignal): Promise<IssuedToken | 'unchanged'>;
}

/** A token file (e.g. a Kubernetes projected service-account token, rotated in place by the kubelet). */
export function fileTokenSource(path: string): TokenSource {
  let seen = '';
  return {
    async read() {
      const st = await stat(path);
      const mark = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (mark === seen) return 'unchanged';
      const token = parseTokenOutput(await readFile(path, 'utf8'));
      seen = mark;
      return token;
    },
  };
}

/** `argv[0]` run with `argv[1..]`, no shell; its stdout parsed by `parseTokenOutput`. */
export function commandTokenSource(argv: readonly string[], timeoutMs: number, lifetimeMs: number, now: () => number): TokenSource {
  return {
    read(signal) {
      return new Promise((resolve, reject) => {
        execFile(
          argv[0],
          argv.slice(1),
          { timeout: timeoutMs, maxBuffer: MAX_COMMAND_OUTPUT, shell: false, windowsHide: true, signal, encoding: 'utf8' },
          (err, stdout, stderr) => {
            if (err) return reject(new Error(commandFailure(argv[0], err, stderr, timeoutMs)));
            try {
              const t = parseTokenOutput(stdout);
              resolve({ token: t.token, expiresAt: t.expiresAt ?? now() + lifetimeMs });
            } catch (e) {
              reject(e);
            }
          },
        );
      });
    },
  };
}

/** Why a command failed, without its stdout (which may hold a token); stderr is cut short. */
function commandFailure(program: string, err: ExecFileException, stderr: string, timeoutMs: number): string {
  const tail = stderr.trim().slice(0, 200).replace(/\s+/g, ' ');
  const why =
    err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
      ? `its output exceeded ${MAX_COMMAND_OUTPUT} bytes`
      : err.killed
        ? `it did not finish within ${timeoutMs}ms`
        : typeof err.code === 'string'
          ? `it could not be started (${err.code})`
          : `it exited with ${err.code ?? `signal ${err.signal}`}`;
  return `credential command "${program}" failed: ${why}${tail === '' ? '' : `; stderr: ${tail}`}`;
}
