/**
 * `ModelCapture`: the one piece of a body a model reader keeps, the value of a `model` field, in a fixed
 * buffer of `MODEL_MAX_BYTES`. Raw bytes are copied as they are; JSON `\uXXXX` code units are encoded to
 * UTF-8 here, with surrogate pairs joined. A lone surrogate has no UTF-8 form, and a value past the cap
 * is not kept: both make the value unusable, and the reader reports the model undetermined.
 */
import { isUtf8 } from 'node:buffer';
import { MODEL_MAX_BYTES } from './model-reading.js';

export type CaptureState = 'ok' | 'too-long' | 'lone-surrogate' | 'invalid-utf8';

export class ModelCapture {
  readonly #buf = Buffer.allocUnsafe(MODEL_MAX_BYTES);
  #len = 0;
  /** A high surrogate waiting for its low half, or -1. */
  #high = -1;
  #tooLong = false;
  #lone = false;

  /** Start a new value (a later duplicate replaces an earlier one). */
  begin(): void {
    this.#len = 0;
    this.#high = -1;
    this.#tooLong = false;
    this.#lone = false;
  }

  /** Copy `src[start, end)` as they are (already valid UTF-8, or checked at `end`). */
  bytes(src: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.#high !== -1) this.#loneHigh();
    const room = MODEL_MAX_BYTES - this.#len;
    if (end - start > room) {
      this.#tooLong = true;
      return;
    }
    src.copy(this.#buf, this.#len, start, end);
    this.#len += end - start;
  }

  byte(c: number): void {
    if (this.#high !== -1) this.#loneHigh();
    this.#put(c);
  }

  /** One UTF-16 code unit from a JSON escape. */
  unit(u: number): void {
    if (this.#high !== -1) {
      if (u >= 0xdc00 && u <= 0xdfff) {
        const cp = 0x10000 + ((this.#high - 0xd800) << 10) + (u - 0xdc00);
        this.#high = -1;
        this.#put(0xf0 | (cp >> 18));
        this.#put(0x80 | ((cp >> 12) & 0x3f));
        this.#put(0x80 | ((cp >> 6) & 0x3f));
        this.#put(0x80 | (cp & 0x3f));
        return;
      }
      this.#loneHigh();
    }
    if (u < 0x80) this.#put(u);
    else if (u < 0x800) {
      this.#put(0xc0 | (u >> 6));
      this.#put(0x80 | (u & 0x3f));
    } else if (u >= 0xd800 && u <= 0xdbff) this.#high = u;
    else if (u >= 0xdc00 && u <= 0xdfff) this.#lone = true;
    else {
      this.#put(0xe0 | (u >> 12));
      this.#put(0x80 | ((u >> 6) & 0x3f));
      this.#put(0x80 | (u & 0x3f));
    }
  }

  /** End of the value: whether it is usable. `checkUtf8` for bytes no one validated on the way in. */
  end(checkUtf8: boolean): CaptureState {
    if (this.#high !== -1) this.#loneHigh();
    if (this.#tooLong) return 'too-long';
    if (this.#lone) return 'lone-surrogate';
    if (checkUtf8 && !isUtf8(this.#buf.subarray(0, this.#len))) return 'invalid-utf8';
    return 'ok';
  }

  /** The value kept by the last `end()` that returned 'ok' (valid as long as no new value began). */
  text(): string {
    return this.#buf.toString('utf8', 0, this.#len);
  }

  #loneHigh(): void {
    this.#high = -1;
    this.#lone = true;
  }

  #put(c: number): void {
    if (this.#len === MODEL_MAX_BYTES) this.#tooLong = true;
    else this.#buf[this.#len++] = c;
  }
}
