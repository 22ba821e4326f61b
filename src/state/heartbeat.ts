/**
 * Detects a half-open subscriber. A TCP connection to a paused or partitioned Redis can look `ready`
 * forever while no message arrives, and pub/sub has no replies to time out. So the store publishes a
 * heartbeat to its own heartbeat channel every interval; if its own heartbeat has not come back within
 * the timeout although it has been sending, the subscriber is declared silent and reconnected.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export interface HeartbeatOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Silence longer than this (while sending) means the subscription is dead. */
  readonly timeoutMs: number;
  /** Publish one heartbeat; false when the publisher cannot send right now. */
  send(): boolean;
  /** Called at most once per `timeoutMs` while the subscription is silent. */
  onSilent(): void;
}

export class HeartbeatMonitor {
  readonly #opts: HeartbeatOptions;
  #timer: TimerHandle | undefined;
  #lastHeard: number;
  /** Since when every tick managed to send; undefined while sending fails. */
  #sendingSince: number | undefined;
  #nextActionAt = 0;

  constructor(opts: HeartbeatOptions) {
    this.#opts = opts;
    this.#lastHeard = opts.clock.monotonic();
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = this.#opts.clock.setInterval(() => this.#tick(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Our own heartbeat came back. */
  heard(): void {
    this.#lastHeard = this.#opts.clock.monotonic();
  }

  /** A fresh subscription: give it a full timeout before judging it. */
  reset(): void {
    this.heard();
  }

  /** No heartbeat heard for longer than the timeout. */
  silent(): boolean {
    return this.#opts.clock.monotonic() - this.#lastHeard > this.#opts.timeoutMs;
  }

  close(): void {
    this.#opts.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = this.#opts.clock.monotonic();
    if (!this.#opts.send()) {
      this.#sendingSince = undefined;
      return;
    }
    this.#sendingSince ??= now;
    const judged = now - this.#sendingSince > this.#opts.timeoutMs;
    if (judged && this.silent() && now >= this.#nextActionAt) {
      this.#nextActionAt = now + this.#opts.timeoutMs;
      this.#opts.onSilent();
    }
  }
}
