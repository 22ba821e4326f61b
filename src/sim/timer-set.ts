/**
 * The timers of a simulator, owned in one place so `close()` can clear every one of them.
 * The simulator plays a real upstream on real sockets, so it paces with real timers; gateway logic under
 * test keeps its injected `Clock`.
 */

export class TimerSet {
  readonly #timers = new Map<NodeJS.Timeout, () => void>();

  /**
   * Wait `ms`. Resolves `true` when the time passed, `false` when `signal` aborted first or the set was
   * cleared; no timer outlives either.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const finish = (passed: boolean): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(passed);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      this.#timers.set(timer, onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** How many timers are pending. */
  get size(): number {
    return this.#timers.size;
  }

  /** Cancel every pending timer; their sleeps resolve `false`. */
  clear(): void {
    for (const cancel of [...this.#timers.values()]) cancel();
  }
}
