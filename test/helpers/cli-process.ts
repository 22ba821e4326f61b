/**
 * Test helper: the built `regiongate` command (`dist/cli.js`, run `npm run build` first) as a child
 * process, with its stderr collected and its exit awaited as an event. Killed with SIGKILL in teardown
 * if still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, type Teardown } from './redis-server.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/cli.js');
/** Why CLI tests cannot run, or false. */
export const CLI_MISSING: string | false = existsSync(CLI) ? false : `${CLI} is missing: run npm run build first`;

export interface CliProcess {
  readonly child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal) when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
}

/** Run `node dist/cli.js ...args`. */
export function startCli(t: Teardown, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let done = false;
  const waiters: (() => void)[] = [];
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close': the exit, and stderr read to its end.
    child.once('close', (code, signal) => {
      done = true;
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return {
    child,
    stderr: () => stderr,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(stderr);
          if (m) return resolve(m);
          if (done) return reject(new Error(`exited before ${pattern} appeared; stderr:\n${stderr}`));
          waiters.push(check);
        };
        check();
      }),
  };
}

/** Write a YAML config (lines) to a temp file; returns its path. */
export function writeConfig(t: Teardown, lines: readonly string[]): string {
  const file = join(tempDir(t, 'regiongate-cli-'), 'config.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
