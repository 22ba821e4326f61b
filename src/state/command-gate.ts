/**
 * Bookkeeping for the publisher connection's commands: how many await a reply (the store refuses
 * publishes above `maxInFlight`, so a slow Redis cannot pile them up), when Redis last answered, and
 * stall detection. Commands that time out while nothing has answered for `stallMs` mean a paused
 * server or a half-open socket: `onStall` reconnects, which fails every command still waiting.
 */
import type { Clock } from '../util/clock.js';
import { errorText } from './state-store.js';

export interface CommandGateOptions {
  readonly clock: Clock;
  readonly maxInFlight: number;
  readonly stallMs: number;
  onError(text: string): void;
  onStall(): void;
}

export class CommandGate {
  readonly #o: CommandGateOptions;
  #inFlight = 0;
  #lastAnswerAt: number;

  constructor(opts: CommandGateOptions) {
    this.#o = opts;
    this.#lastAnswerAt = opts.clock.monotonic();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Too many commands await a reply: refuse new publishes. */
  full(): boolean {
    return this.#inFlight >= this.#o.maxInFlight;
  }

  /** Redis answered (a reply, or the connection just became ready). */
  answered(): void {
    this.#lastAnswerAt = this.#o.clock.monotonic();
  }

  /** Await a command, keeping the books; its error is recorded, then rethrown. */
  async run<T>(what: string, command: Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      const reply = await command;
      this.answered();
      return reply;
    } catch (err) {
      this.#failed(what, err);
      throw err;
    } finally {
      this.#inFlight--;
    }
  }

  /** Fire and forget a command; `done(ok)` says how it ended. Never rejects. */
  send(what: string, command: Promise<unknown>, done?: (ok: boolean) => void): void {
    this.run(what, command).then(
      () => done?.(true),
      () => done?.(false),
    );
  }

  #failed(what: string, err: unknown): void {
    const text = errorText(err);
    this.#o.onError(`${what}: ${text}`);
    const now = this.#o.clock.monotonic();
    if (/timed out/i.test(text) && now - this.#lastAnswerAt > this.#o.stallMs) {
      this.#lastAnswerAt = now; // one reconnect per stall period
      this.#o.onStall();
    }
  }
}
