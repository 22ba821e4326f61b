/**
 * The gateway-wide bound on request bytes held in memory for replay (`limits.bufferedBytes`). Each
 * exchange reserves its body before reading it (the whole declared `Content-Length` at once, or chunk by
 * chunk for a chunked body) and gives it back when the body is no longer needed: at commit, when no retry
 * can follow, or at the end. Beyond the bound the request is refused with 503 and `Retry-After`, so a
 * hundred clients each holding a large body cannot exhaust the gateway's memory.
 */
export class BodyBudget {
  #limit: number;
  #held = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * A new bound (a config reload). What is held stays held: a lower bound refuses new bodies until
   * enough of it is given back.
   */
  setLimit(limit: number): void {
    this.#limit = limit;
  }

  /** Bytes reserved now. */
  get held(): number {
    return this.#held;
  }

  /** Reserve `bytes`; false (nothing reserved) when that would pass the limit. */
  tryReserve(bytes: number): boolean {
    if (this.#held + bytes > this.#limit) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}
