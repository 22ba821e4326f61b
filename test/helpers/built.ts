/**
 * Test helpers for the built program: tests that start the CLI (or any module in a child process) run
 * the compiled `dist/` with plain node, never TypeScript through tap's loader, which took 9 to 20 s per
 * start on a busy two-core machine. `npm test` builds first (the `pretest` script); a direct `npx tap`
 * on a checkout without a fresh build fails here with a message saying to run `npm run build`, rather
 * than testing stale code.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './redis-server.js';
import { within } from './wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The newest modification time of any file under `dir`, in ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The absolute path of `dist/<rel>` (e.g. `cli.js`). Throws, saying to run `npm run build`, when it is
 * missing or older than a file under src/ (a build after the last source change is what gets tested).
 */
export function built(rel: string): string {
  const path = join(ROOT, 'dist', rel);
  if (!existsSync(path)) throw new Error(`dist/${rel} is missing: run \`npm run build\` first (\`npm test\` does it for you)`);
  if (statSync(path).mtimeMs < newestMtime(join(ROOT, 'src')))
    throw new Error(`dist/${rel} is older than src/: run \`npm run build\` first (\`npm test\` does it for you)`);
  return path;
}

/** Why tests of the built CLI cannot run (no build at all), or false: for `t.test(..., { skip })`. */
export const CLI_MISSING: string | false = existsSync(join(ROOT, 'dist/cli.js')) ? false : 'dist/cli.js is missing: run `npm run build` first';

/**
 * Spawn `node dist/cli.js ...args`; SIGKILLed in teardown if it is still running. Every pipe asked for
 * must be read (`Output`): on Linux a process writes to a pipe synchronously, so a gateway whose stderr
 * (the access log) is piped and never read blocks its event loop once the pipe buffer (64 KiB) is full.
 */
export function spawnCli(t: Teardown, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [built('cli.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when `child` exits (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Collects everything a child writes to one of its pipes, and waits for patterns in it. */
export class Output {
  text = '';
  /** Set when the child has exited and its pipes are drained: nothing more can arrive. */
  #closed: Exit | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(child: ChildProcess, stream: 'stdout' | 'stderr') {
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (d: string) => {
      this.text += d;
      this.#wake();
    });
    child.once('close', (code, signal) => {
      this.#closed = { code, signal };
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * The matches of `pattern` in the output once there are `count` of them (a `g` pattern counts every
   * match; otherwise the first), waiting for more output if needed. Rejects if the child ends first.
   */
  match(what: string, pattern: RegExp, count = 1): Promise<RegExpMatchArray[]> {
    const found = (): RegExpMatchArray[] | undefined => {
      const all = pattern.global ? [...this.text.matchAll(pattern)] : [this.text.match(pattern)].filter((m): m is RegExpMatchArray => m !== null);
      return all.length >= count ? all : undefined;
    };
    let waiter: (() => void) | undefined;
    const seen = new Promise<RegExpMatchArray[]>((resolve, reject) => {
      waiter = () => {
        const all = found();
        if (all) resolve(all);
        else if (this.#closed) reject(new Error(`the process ended (${this.#closed.code ?? this.#closed.signal}) before ${what}; its output: ${this.text}`));
      };
      this.#waiters.add(waiter);
      waiter();
    });
    return within(() => `${what}; output so far: ${this.text}`, seen).finally(() => {
      if (waiter) this.#waiters.delete(waiter);
    });
  }
}

/** A running `regiongate` command with its stderr collected (stdout ignored). */
export interface CliProcess {
  readonly child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process exited and its stderr was read to the end. */
  readonly exited: Promise<Exit>;
  /** Resolves with the first match of `pattern` in stderr; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
}

/**
 * Run `node dist/cli.js ...args` with `env` added, for tests that watch its log lines: stderr is always
 * read (see `spawnCli`), stdout is not opened. Teardown kills it if still running and waits for its end.
 */
export function startCli(t: Teardown, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawnCli(t, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = new Output(child, 'stderr');
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return {
    child,
    stderr: () => stderr.text,
    exited,
    waitFor: async (pattern) => (await stderr.match(String(pattern), pattern))[0] as RegExpMatchArray,
  };
}

/** Write a YAML config (lines) to a temp file; returns its path. */
export function writeConfig(t: Teardown, lines: readonly string[]): string {
  const file = join(tempDir(t, 'regiongate-cli-'), 'config.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
