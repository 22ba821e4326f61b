/**
 * Keeps one endpoint's credential slot current. Refreshes run on timers of the injected clock, never on
 * the request path: a command ahead of its token's expiry (`refreshBefore`), a file every `pollInterval`.
 * A failed refresh keeps the old token until it expires and is retried every `retryInterval`; at expiry
 * the slot empties and `onExpired` fires (the endpoint goes down), and the next good token brings it
 * back through `onRenewed`. Nothing here logs or returns the token.
 */
import type { CredentialSlot } from '../registry/endpoint.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { TokenSource } from './token-sources.js';

export interface CredentialKeeperInit {
  readonly slot: CredentialSlot;
  readonly source: TokenSource;
  readonly clock: Clock;
  /** `<scheme> <token>` in the header; '' for the bare token. */
  readonly scheme: string;
  /** Next refresh after a success: a fixed poll (files), or `refreshBefore` the token's expiry (commands). */
  readonly schedule: { readonly pollMs: number } | { readonly refreshBeforeMs: number };
  readonly retryMs: number;
  readonly onExpired: (reason: string) => void;
  readonly onRenewed: () => void;
  /** A refresh failed (the old token, if any, is kept until `expiresAt`). */
  readonly onRefreshFailed: (reason: string, expiresAt: number | undefined) => void;
}

/** Never refresh a command more often than this, whatever `refreshBefore` says. */
const MIN_REFRESH_MS = 1000;

export class CredentialKeeper {
  readonly #o: CredentialKeeperInit;
  #expiresAt: number | undefined;
  #expired = false;
  #next: TimerHandle | undefined;
  #expiry: TimerHandle | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  /** Settles when the current refresh is done (tests wait on it). */
  #running: Promise<void> | undefined;

  constructor(init: CredentialKeeperInit) {
    this.#o = init;
  }

  /** Epoch ms at which the current token expires (undefined: none held, or no expiry known). */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Read the first token now; resolves when that attempt is done (the slot is filled, or not). */
  start(): Promise<void> {
    return this.refresh();
  }

  /** Refresh now (a second call while one runs joins it). */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= this.#refresh().finally(() => (this.#running = undefined));
    return this.#running;
  }

  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#next);
    this.#o.clock.clearTimeout(this.#expiry);
    this.#abort.abort();
  }

  async #refresh(): Promise<void> {
    const o = this.#o;
    let got: Awaited<ReturnType<TokenSource['read']>>;
    try {
      got = await o.source.read(this.#abort.signal);
    } catch (err) {
      if (this.#closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      o.onRefreshFailed(reason, this.#expiresAt);
      if (o.slot.value === undefined) this.#expire(reason);
      return this.#plan(o.retryMs);
    }
    if (this.#closed) return;
    if (got !== 'unchanged') {
      const now = o.clock.now();
      if (got.expiresAt !== undefined && got.expiresAt <= now) {
        o.onRefreshFailed('the source gave a token that has already expired', this.#expiresAt);
        if (o.slot.value === undefined) this.#expire('the token has expired');
        return this.#plan(o.retryMs);
      }
      o.slot.value = o.scheme === '' ? got.token : `${o.scheme} ${got.token}`;
      this.#expiresAt = got.expiresAt;
      o.clock.clearTimeout(this.#expiry);
      this.#expiry = got.expiresAt === undefined ? undefined : o.clock.setTimeout(() => this.#expire('the token expired and no refresh succeeded'), got.expiresAt - now);
      this.#expiry?.unref();
      if (this.#expired) {
        this.#expired = false;
        o.onRenewed();
      }
    }
    const s = o.schedule;
    if ('pollMs' in s) return this.#plan(s.pollMs);
    const ahead = this.#expiresAt === undefined ? o.retryMs : this.#expiresAt - s.refreshBeforeMs - o.clock.now();
    this.#plan(Math.max(MIN_REFRESH_MS, ahead));
  }

  #plan(ms: number): void {
    if (this.#closed) return;
    this.#o.clock.clearTimeout(this.#next);
    this.#next = this.#o.clock.setTimeout(() => void this.refresh(), ms);
    this.#next.unref();
  }

  #expire(reason: string): void {
    this.#o.clock.clearTimeout(this.#expiry);
    this.#expiry = undefined;
    this.#o.slot.value = undefined;
    this.#expiresAt = undefined;
    if (this.#expired || this.#closed) return;
    this.#expired = true;
    this.#o.onExpired(reason);
  }
}
