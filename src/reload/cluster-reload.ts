/**
 * A reload with `--workers`, run in the primary: the config is re-read and checked once here (a broken
 * file is refused before any worker is asked), then every live worker applies that same text (IPC) and the
 * answers are gathered into one: the first worker's result, with each worker's part under `workers`.
 * A worker that does not answer within `timeoutMs` is named as such. Serves SIGHUP, the file watcher
 * and `POST /admin/reload` on the primary's admin port.
 */
import type { Worker } from 'node:cluster';
import { ConfigError } from '../errors.js';
import { isReloadReply, type ReloadReplyMessage, type ReloadRequestMessage } from './reload-messages.js';

/** A cluster reload's answer: an HTTP status and its JSON body. */
export interface ClusterReloadAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface ClusterReloadOptions {
  /** Re-read and check the config file; resolves with its text; throws `ConfigError`. */
  readonly read: () => string;
  readonly workers: () => readonly Worker[];
  readonly timeoutMs?: number;
  /** Told the problems of a refused config (logged once, here). */
  readonly onRefused: (problems: readonly string[]) => void;
}

export class ClusterReload {
  readonly #o: ClusterReloadOptions;
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ClusterReloadOptions) {
    this.#o = opts;
  }

  /** Reload every worker (one reload at a time). */
  run(): Promise<ClusterReloadAnswer> {
    const next = this.#queue.then(() => this.#run());
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #run(): Promise<ClusterReloadAnswer> {
    let text: string;
    try {
      text = this.#o.read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.#o.onRefused(err.issues);
      return { status: 400, body: { reloaded: false, error: { code: 'RG_ERR_CONFIG', message: 'config not reloaded: still serving with the previous one', problems: err.issues } } };
    }
    const id = ++this.#seq;
    const replies = await Promise.all(this.#o.workers().map((w) => this.#ask(w, id, text)));
    const ok = replies.filter((r): r is ReloadReplyMessage & { result: NonNullable<ReloadReplyMessage['result']> } => 'result' in r && r.result !== undefined);
    const workers = replies.map((r) => ('gatewayId' in r ? { gatewayId: r.gatewayId, ...(r.result ?? { reloaded: false, problems: r.problems }) } : r));
    const all = ok.length === replies.length && replies.length > 0;
    return { status: all ? 200 : 500, body: { ...(ok[0]?.result ?? {}), reloaded: all, workers } };
  }

  #ask(w: Worker, id: number, text: string): Promise<ReloadReplyMessage | { worker: number; reloaded: false; error: string }> {
    const timeoutMs = this.#o.timeoutMs ?? 30_000;
    return new Promise((resolve) => {
      const done = (r: ReloadReplyMessage | { worker: number; reloaded: false; error: string }): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (msg: unknown): void => {
        if (isReloadReply(msg) && msg.id === id) done(msg);
      };
      const onExit = (): void => done({ worker: w.id, reloaded: false, error: 'the worker exited' });
      const timer = setTimeout(() => done({ worker: w.id, reloaded: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
      w.on('message', onMessage);
      w.on('exit', onExit);
      const msg: ReloadRequestMessage = { rg: 'reload', id, text };
      try {
        w.send(msg);
      } catch (err) {
        done({ worker: w.id, reloaded: false, error: (err as Error).message });
      }
    });
  }
}
