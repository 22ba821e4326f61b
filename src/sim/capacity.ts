/**
 * The simulator's capacity model: a model server runs at most `slots` sequences at once (vLLM's
 * max_num_seqs); more requests wait in a FIFO queue, so time to first token grows with the queue as it
 * does on a real server. KV cache use grows with the running sequences (`kvPerSequence` each, capped
 * at 1). The state is published in vLLM's `/metrics` format; `override` pins the reported numbers for
 * tests that need a server to *say* it is saturated or idle, whatever it does.
 */

/** The numbers a simulated server reports on `/metrics`. */
export interface SimLoadReport {
  waiting: number;
  running: number;
  /** 0..1 */
  kv: number;
}

interface Waiter {
  resolve(admitted: boolean): void;
}

export class CapacityModel {
  readonly #slots: number;
  readonly #kvPerSequence: number;
  #running = 0;
  readonly #queue: Waiter[] = [];
  #override: SimLoadReport | 'unavailable' | undefined;

  /** `slots` 0 = unlimited (no queue ever forms). */
  constructor(slots: number, kvPerSequence: number) {
    this.#slots = slots;
    this.#kvPerSequence = kvPerSequence;
  }

  /** Resolves true once the request holds a slot (call `release` after), false if `signal` fired first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#slots === 0 || this.#running < this.#slots) {
      this.#running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve };
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = (admitted) => {
        signal.removeEventListener('abort', onAbort);
        resolve(admitted);
      };
      this.#queue.push(waiter);
    });
  }

  /** Free a slot; the oldest waiter takes it. */
  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) return next.resolve(true); // the slot passes on: running stays the same
    if (this.#running > 0) this.#running--;
  }

  /** Pin what `/metrics` reports; 'unavailable' answers it 503; undefined reports the real state again. */
  setOverride(report: SimLoadReport | 'unavailable' | undefined): void {
    this.#override = typeof report === 'object' ? { ...report } : report;
  }

  /** False while `/metrics` is pinned unavailable. */
  get published(): boolean {
    return this.#override !== 'unavailable';
  }

  /** Release every waiter (the simulator is closing). */
  clear(): void {
    for (const w of this.#queue.splice(0)) w.resolve(false);
  }

  report(): SimLoadReport {
    if (typeof this.#override === 'object') return { ...this.#override };
    return { waiting: this.#queue.length, running: this.#running, kv: Math.min(1, this.#running * this.#kvPerSequence) };
  }
}

/** `report` as a vLLM `/metrics` page, one series per served model (`model_name` label). */
export function vllmMetricsText(report: SimLoadReport, models: readonly string[]): string {
  const names = models.filter((m) => m !== '*');
  const labels = (names.length > 0 ? names : ['sim']).map((m) => `{model_name="${m.replace(/["\\\n]/g, '_')}"}`);
  const series = (name: string, help: string, value: number): string =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${labels.map((l) => `${name}${l} ${value}`).join('\n')}\n`;
  return (
    series('vllm:num_requests_running', 'Number of requests in model execution batches.', report.running) +
    series('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', report.waiting) +
    series('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', report.kv)
  );
}
