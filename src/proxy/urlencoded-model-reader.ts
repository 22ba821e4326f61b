/**
 * `UrlencodedModelReader`: the `model` field of an `application/x-www-form-urlencoded` body, read as the
 * chunks arrive (WHATWG URL §5.1: pairs split on `&`, `+` is a space, percent-escapes decoded). Some
 * parsers also split on `;` (python-multipart, older Python), so the body is read both ways and must agree.
 * Duplicate `model` fields, `model[...]`/`model.x` keys (qs turns them into objects), invalid UTF-8, an
 * empty or over-long value: undetermined. Memory: the match state of the current key and the capped value.
 */
import { ModelCapture } from './model-capture.js';
import { ABSENT, sameReading, undetermined, type ModelReading } from './model-reading.js';

const MODEL = [0x6d, 0x6f, 0x64, 0x65, 0x6c]; // "model"

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** One reading of the body, with `&` (and optionally `;`) as the pair separator. */
class PairReader {
  readonly #semicolon: boolean;
  readonly #capture = new ModelCapture();
  #inValue = false;
  /** Bytes of `model` matched by the current key; -1 = not the model key. */
  #key = 0;
  #isModel = false;
  #ambiguous = false;
  #models = 0;
  #bad = false;
  /** 0: no escape; 1: after `%`; 2: after `%` and one hex digit (`#hexByte`). */
  #pct = 0;
  #hexByte = 0;

  constructor(semicolon: boolean) {
    this.#semicolon = semicolon;
  }

  write(b: Buffer): void {
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c === 0x26 || (c === 0x3b && this.#semicolon)) this.#endPair();
      else if (this.#pct !== 0) this.#escape(c);
      else if (c === 0x25) this.#pct = 1;
      else if (c === 0x3d && !this.#inValue) this.#startValue();
      else this.#decoded(c === 0x2b ? 0x20 : c);
    }
  }

  finish(): ModelReading {
    this.#endPair();
    if (this.#ambiguous) return undetermined('a form key extends "model" (model[...] or model.x)');
    if (this.#models > 1) return undetermined('duplicate model fields');
    if (this.#bad) return undetermined('the model field is empty, too long or not UTF-8');
    return this.#models === 1 ? { kind: 'model', model: this.#capture.text() } : ABSENT;
  }

  #escape(c: number): void {
    const h = hexValue(c);
    if (this.#pct === 1) {
      if (h === -1) return this.#literal(0x25, c);
      this.#pct = 2;
      this.#hexByte = c;
      return;
    }
    if (h === -1) return this.#literal(this.#hexByte, c);
    this.#pct = 0;
    this.#decoded((hexValue(this.#hexByte) << 4) | h);
  }

  /** An escape that is not one stands for itself (WHATWG): `%` and what followed, then `c` as usual. */
  #literal(kept: number, c: number): void {
    const first = this.#pct === 2 ? 0x25 : -1;
    this.#pct = 0;
    if (first !== -1) this.#decoded(first);
    this.#decoded(kept);
    if (c === 0x25) this.#pct = 1;
    else if (c === 0x3d && !this.#inValue) this.#startValue();
    else this.#decoded(c === 0x2b ? 0x20 : c);
  }

  #flushEscape(): void {
    if (this.#pct === 0) return;
    const second = this.#pct === 2 ? this.#hexByte : -1;
    this.#pct = 0;
    this.#decoded(0x25);
    if (second !== -1) this.#decoded(second);
  }

  #decoded(c: number): void {
    if (this.#inValue) {
      if (this.#isModel) this.#capture.byte(c);
      return;
    }
    const k = this.#key;
    if (k === -1) return;
    if (k < 5 && c === MODEL[k]) this.#key = k + 1;
    else {
      if (k === 5 && (c === 0x5b || c === 0x2e)) this.#ambiguous = true; // `model[` / `model.`
      this.#key = -1;
    }
  }

  #startValue(): void {
    this.#flushEscape();
    this.#inValue = true;
    this.#isModel = this.#key === 5;
    if (this.#isModel) {
      this.#models++;
      this.#capture.begin();
    }
  }

  #endPair(): void {
    this.#flushEscape();
    if (!this.#inValue && this.#key === 5) this.#startValue(); // `model` alone is a field with an empty value
    if (this.#isModel && (this.#capture.end(true) !== 'ok' || this.#capture.text().length === 0)) this.#bad = true;
    this.#inValue = false;
    this.#isModel = false;
    this.#key = 0;
  }
}

export class UrlencodedModelReader {
  readonly #ampersand = new PairReader(false);
  readonly #semicolon = new PairReader(true);

  write(chunk: Buffer): void {
    this.#ampersand.write(chunk);
    this.#semicolon.write(chunk);
  }

  finish(): ModelReading {
    const a = this.#ampersand.finish();
    const b = this.#semicolon.finish();
    return sameReading(a, b) ? a : undetermined('the form reads differently with `;` as a separator');
  }
}
