/**
 * Opt-in reload on file change (`watch: true` or `--watch-config`). The directory is watched, not the
 * file: editors and `kubectl`'s ConfigMap updates replace the file by a rename, which ends a watch on
 * the file itself. Events for the file's name are debounced (an editor writes in several steps), and a
 * reload runs only when the content differs from the last one seen, so touching the file is no reload.
 * One watcher and one timer, both closed by `close()`.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';

export interface ConfigWatcherOptions {
  readonly file: string;
  /** Quiet time after the last change before reloading. */
  readonly debounceMs?: number;
  /** Run the reload; its errors are its own to log. */
  readonly onChange: () => void;
}

export class ConfigWatcher {
  readonly #file: string;
  readonly #name: string;
  readonly #debounceMs: number;
  readonly #onChange: () => void;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #digest: string | undefined;

  constructor(opts: ConfigWatcherOptions) {
    this.#file = resolve(opts.file);
    this.#name = basename(this.#file);
    this.#debounceMs = opts.debounceMs ?? 250;
    this.#onChange = opts.onChange;
  }

  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  /** Start watching (idempotent). */
  start(): void {
    if (this.#watcher !== undefined) return;
    this.#digest = this.#read();
    this.#watcher = watch(dirname(this.#file), { persistent: false }, (_event, name) => {
      // Some platforms give no name: treat it as possibly ours.
      if (name !== null && name !== this.#name) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(this.#settled, this.#debounceMs);
      this.#timer.unref();
    });
    // A watch error (the directory removed) ends watching; the gateway keeps serving.
    this.#watcher.on('error', () => this.close());
  }

  readonly #settled = (): void => {
    this.#timer = undefined;
    const digest = this.#read();
    // Missing for a moment mid-replace, or unchanged: nothing to do (a later event brings the new file).
    if (digest === undefined || digest === this.#digest) return;
    this.#digest = digest;
    this.#onChange();
  };

  #read(): string | undefined {
    try {
      return createHash('sha256').update(readFileSync(this.#file)).digest('hex');
    } catch {
      return undefined;
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
