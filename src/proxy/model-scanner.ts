/**
 * `ModelScanner`: the top-level `model` of a JSON body, read as the chunks arrive, exactly as upstream
 * parsers (JSON.parse, Python's json) read it: the whole grammar checked (RFC 8259), strict UTF-8
 * (RFC 3629), escapes in keys and values decoded, the last of duplicate keys wins. Whatever an upstream
 * might read otherwise is `undetermined`: malformed or truncated JSON, a byte order mark, nesting past
 * `MAX_JSON_DEPTH`, a model that is not a non-empty string, a lone surrogate in it, or a top-level key
 * equal to `model` only without case (Go's encoding/json matches keys that way, last one winning).
 *
 * Cost: one pass, a state machine without recursion and without allocation per byte. It keeps the
 * nesting stack and one capped copy of the model value; no other byte of the body. After the first
 * error it stops reading.
 */
import { ModelCapture } from './model-capture.js';
import { ABSENT, undetermined, type ModelReading } from './model-reading.js';

/** Deeper nesting is undetermined (Python's json gives up near 1000; no API body comes close to this). */
export const MAX_JSON_DEPTH = 256;

// Parser states.
const VALUE = 0; // a value is due (document start, after `:`, after `,` in an array)
const ARRAY_FIRST = 1; // after `[`: a value or `]`
const OBJECT_FIRST = 2; // after `{`: a key or `}`
const OBJECT_KEY = 3; // after `,` in an object: a key
const COLON = 4;
const AFTER = 5; // after a value inside a container: `,` or the closing bracket
const STRING = 6;
const ESCAPE = 7;
const HEX = 8;
const UTF8 = 9; // inside a multi-byte UTF-8 sequence
const NUMBER = 10;
const LITERAL = 11;
const END = 12; // the document is complete: only whitespace may follow
const FAILED = 13;

// Number sub-states (RFC 8259 §6); the ones marked * may end the number.
const N_MINUS = 0;
const N_ZERO = 1; // *
const N_INT = 2; // *
const N_DOT = 3;
const N_FRAC = 4; // *
const N_E = 5;
const N_E_SIGN = 6;
const N_EXP = 7; // *

// What the current string is.
const R_KEY = 0;
const R_TOP_KEY = 1; // a key of the top-level object: matched against `model` and `stream`
const R_VALUE = 2;
const R_MODEL = 3; // the value of a top-level `model` key: captured

// What the last top-level `model` key held.
const M_NONE = 0;
const M_STRING = 1;
const M_OTHER = 2; // not a string
const M_BAD = 3; // a string that cannot be kept: too long, or a lone surrogate

const OBJ = 1;
const ARR = 2;
const MODEL = [0x6d, 0x6f, 0x64, 0x65, 0x6c]; // "model"
const STREAM = [0x73, 0x74, 0x72, 0x65, 0x61, 0x6d]; // "stream"
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];
/** Code unit of each one-character escape (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`), else -1. */
const ESCAPES = new Int16Array(128).fill(-1);
for (const [c, u] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 8], ['f', 12], ['n', 10], ['r', 13], ['t', 9]] as const)
  ESCAPES[c.charCodeAt(0)] = u;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

export class ModelScanner {
  #state = VALUE;
  #reason = '';
  #started = false;
  readonly #stack = new Uint8Array(MAX_JSON_DEPTH);
  #depth = 0;
  #role = R_VALUE;
  /** Characters of `model` matched by the current top-level key so far, exactly / without case; -1 = no. */
  #exact = -1;
  #fold = -1;
  /** The key just read was `model`: the next value is the model. */
  #modelNext = false;
  /** Characters of `stream` matched by the current top-level key so far; -1 = no. */
  #streamAt = -1;
  #streamNext = false;
  /** The last top-level `stream` is `true` (the answer comes as a stream, headers with the first token). */
  #stream = false;
  #caseVariant = false;
  #model = M_NONE;
  readonly #capture = new ModelCapture();
  #hexLeft = 0;
  #hex = 0;
  #utf8Left = 0;
  #utf8Lo = 0;
  #utf8Hi = 0;
  #num = N_MINUS;
  #lit: Buffer = LITERALS[0];
  #litAt = 0;
  /** Bytes of the chunks before the current one, and where the last top-level model string lies (quotes included). */
  #offset = 0;
  #modelStart = -1;
  #modelEnd = -1;

  /**
   * The byte range `[start, end)` of the model string the reading names, quotes included, so a caller
   * holding the body can splice another name in (meaningful after `finish` answered a model).
   */
  get modelSpan(): readonly [number, number] | undefined {
    return this.#modelStart >= 0 && this.#modelEnd > this.#modelStart ? [this.#modelStart, this.#modelEnd] : undefined;
  }

  /** Whether the bytes so far are a complete, valid JSON document (meaningful after `finish`). */
  get wellFormed(): boolean {
    return this.#state === END;
  }

  /** Read the next chunk of the body. */
  write(b: Buffer): void {
    const n = b.length;
    let i = 0;
    if (n > 0 && !this.#started) {
      this.#started = true;
      if (b[0] === 0xef) return this.#fail('a byte order mark before the JSON');
    }
    while (i < n) {
      const state = this.#state;
      if (state === STRING) {
        const start = i;
        const role = this.#role;
        if (role === R_TOP_KEY && (this.#fold >= 0 || this.#streamAt >= 0)) {
          for (; i < n; i++) {
            const c = b[i];
            if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x80) break;
            this.#matchKey(c);
          }
        } else {
          for (; i < n; i++) {
            const c = b[i];
            if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x80) break;
          }
          if (role === R_MODEL) this.#capture.bytes(b, start, i);
        }
        if (i === n) break;
        const c = b[i++];
        if (c === 0x22) {
          if (role === R_MODEL) this.#modelEnd = this.#offset + i;
          this.#endString();
        }
        else if (c === 0x5c) this.#state = ESCAPE;
        else if (c < 0x20) return this.#fail('a control character inside a string');
        else if (!this.#utf8Lead(c)) return this.#fail('invalid UTF-8');
        continue;
      }
      const c = b[i];
      switch (state) {
        case VALUE:
        case ARRAY_FIRST:
          if (isSpace(c)) break;
          if (c === 0x5d && state === ARRAY_FIRST) {
            this.#close(ARR);
            break;
          }
          if ((c === 0x5b || c === 0x7b) && !this.#modelNext && this.#depth < MAX_JSON_DEPTH) {
            // The common case of a nested container, inline: bodies of brackets cost one step per byte.
            this.#stack[this.#depth++] = c === 0x7b ? OBJ : ARR;
            this.#state = c === 0x7b ? OBJECT_FIRST : ARRAY_FIRST;
            break;
          }
          if (c === 0x22 && this.#modelNext) this.#modelStart = this.#offset + i;
          this.#startValue(c);
          if (this.#state === FAILED) return;
          break;
        case OBJECT_FIRST:
        case OBJECT_KEY:
          if (isSpace(c)) break;
          if (c === 0x22) {
            this.#role = this.#depth === 1 ? R_TOP_KEY : R_KEY;
            this.#exact = this.#fold = this.#streamAt = this.#role === R_TOP_KEY ? 0 : -1;
            this.#state = STRING;
          } else if (c === 0x7d && state === OBJECT_FIRST) this.#close(OBJ);
          else return this.#fail('a key was expected');
          break;
        case COLON:
          if (isSpace(c)) break;
          if (c !== 0x3a) return this.#fail('`:` was expected after a key');
          this.#state = VALUE;
          break;
        case AFTER:
          if (isSpace(c)) break;
          if (c === 0x2c) this.#state = this.#stack[this.#depth - 1] === OBJ ? OBJECT_KEY : VALUE;
          else if ((c === 0x5d || c === 0x7d) && this.#stack[this.#depth - 1] === (c === 0x7d ? OBJ : ARR))
            this.#state = --this.#depth === 0 ? END : AFTER;
          else if (c === 0x7d || c === 0x5d) return this.#fail('a mismatched closing bracket');
          else return this.#fail('`,` or a closing bracket was expected');
          if (this.#state === FAILED) return;
          break;
        case ESCAPE:
          if (c === 0x75) {
            this.#state = HEX;
            this.#hexLeft = 4;
            this.#hex = 0;
          } else if (c < 128 && ESCAPES[c] !== -1) {
            this.#unit(ESCAPES[c]);
            this.#state = STRING;
          } else return this.#fail('an invalid escape in a string');
          break;
        case HEX: {
          const h = hexValue(c);
          if (h === -1) return this.#fail('an invalid \\u escape');
          this.#hex = (this.#hex << 4) | h;
          if (--this.#hexLeft === 0) {
            this.#unit(this.#hex);
            this.#state = STRING;
          }
          break;
        }
        case UTF8:
          if (c < this.#utf8Lo || c > this.#utf8Hi) return this.#fail('invalid UTF-8');
          if (this.#role === R_MODEL) this.#capture.byte(c);
          this.#utf8Lo = 0x80;
          this.#utf8Hi = 0xbf;
          if (--this.#utf8Left === 0) this.#state = STRING;
          break;
        case NUMBER:
          if (!this.#number(c)) {
            if (this.#state === FAILED) return;
            continue; // the number ended before `c`: read `c` in the state after the value
          }
          break;
        case LITERAL:
          if (c !== this.#lit[this.#litAt]) return this.#fail('an invalid literal');
          if (++this.#litAt === this.#lit.length) this.#valueDone();
          break;
        case END:
          if (!isSpace(c)) return this.#fail('data after the JSON document');
          break;
        default:
          return; // FAILED: nothing more to learn
      }
      i++;
    }
    this.#offset += n;
  }

  /** Whether the body's top-level `stream` is `true` (meaningful once the body is complete and well formed). */
  get stream(): boolean {
    return this.#stream && this.#state === END;
  }

  /** The body is complete: what an upstream reads as its model. */
  finish(): ModelReading {
    if (this.#state === NUMBER && this.#depth === 0 && this.#numberMayEnd()) this.#state = END;
    if (this.#state === FAILED) return undetermined(`the body is not valid JSON: ${this.#reason}`);
    if (this.#state !== END) return undetermined(this.#started ? 'the JSON body is truncated' : 'the body is empty');
    if (this.#caseVariant) return undetermined('a top-level key differs from "model" only in case');
    switch (this.#model) {
      case M_NONE:
        return ABSENT;
      case M_OTHER:
        return undetermined('"model" is not a string');
      case M_BAD:
        return undetermined('"model" is too long or holds a lone surrogate');
      default: {
        const model = this.#capture.text();
        return model.length === 0 ? undetermined('"model" is empty') : { kind: 'model', model };
      }
    }
  }

  #fail(reason: string): void {
    this.#state = FAILED;
    this.#reason = reason;
  }

  #matchKey(u: number): void {
    const e = this.#exact;
    if (e >= 0) this.#exact = e < 5 && u === MODEL[e] ? e + 1 : -1;
    const f = this.#fold;
    if (f >= 0) this.#fold = f < 5 && (u | 0x20) === MODEL[f] ? f + 1 : -1;
    const st = this.#streamAt;
    if (st >= 0) this.#streamAt = st < 6 && u === STREAM[st] ? st + 1 : -1;
  }

  /** A code unit from an escape, in a key or the model value. */
  #unit(u: number): void {
    if (this.#role === R_TOP_KEY) this.#matchKey(u);
    else if (this.#role === R_MODEL) this.#capture.unit(u);
  }

  /** A non-ASCII byte inside a string: the lead of a UTF-8 sequence, or invalid. */
  #utf8Lead(c: number): boolean {
    let left: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) left = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      left = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      else if (c === 0xed) hi = 0x9f; // no encoded surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      left = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f; // nothing past U+10FFFF
    } else return false;
    this.#utf8Left = left;
    this.#utf8Lo = lo;
    this.#utf8Hi = hi;
    if (this.#role === R_TOP_KEY) this.#exact = this.#fold = this.#streamAt = -1;
    else if (this.#role === R_MODEL) this.#capture.byte(c);
    this.#state = UTF8;
    return true;
  }

  #endString(): void {
    const role = this.#role;
    if (role === R_TOP_KEY) {
      this.#modelNext = this.#exact === 5;
      this.#streamNext = this.#streamAt === 6;
      if (this.#fold === 5 && this.#exact !== 5) this.#caseVariant = true;
      this.#state = COLON;
    } else if (role === R_KEY) this.#state = COLON;
    else {
      if (role === R_MODEL) this.#model = this.#capture.end(false) === 'ok' ? M_STRING : M_BAD;
      this.#valueDone();
    }
  }

  /** The first byte of a value. */
  #startValue(c: number): void {
    const isModel = this.#modelNext;
    this.#modelNext = false;
    // The last top-level `stream` wins, as for `model`; `t` can only begin `true` (the literal is checked).
    if (this.#streamNext) {
      this.#stream = c === 0x74;
      this.#streamNext = false;
    }
    if (c === 0x22) {
      this.#role = isModel ? R_MODEL : R_VALUE;
      if (isModel) this.#capture.begin();
      this.#state = STRING;
      return;
    }
    if (isModel) this.#model = M_OTHER;
    if (c === 0x7b || c === 0x5b) {
      if (this.#depth === MAX_JSON_DEPTH) return this.#fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
      this.#stack[this.#depth++] = c === 0x7b ? OBJ : ARR;
      this.#state = c === 0x7b ? OBJECT_FIRST : ARRAY_FIRST;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.#num = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
      this.#state = NUMBER;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.#lit = LITERALS[c === 0x74 ? 0 : c === 0x66 ? 1 : 2];
      this.#litAt = 1;
      this.#state = LITERAL;
    } else this.#fail('a value was expected');
  }

  #close(kind: number): void {
    if (this.#depth === 0 || this.#stack[this.#depth - 1] !== kind) return this.#fail('a mismatched closing bracket');
    this.#depth--;
    this.#valueDone();
  }

  #valueDone(): void {
    this.#state = this.#depth === 0 ? END : AFTER;
  }

  #numberMayEnd(): boolean {
    const s = this.#num;
    return s === N_ZERO || s === N_INT || s === N_FRAC || s === N_EXP;
  }

  /** Next byte of a number: true when consumed, false when the number ended before it (or failed). */
  #number(c: number): boolean {
    const digit = c >= 0x30 && c <= 0x39;
    const s = this.#num;
    if (s === N_MINUS || s === N_DOT || s === N_E_SIGN || (s === N_E && c !== 0x2b && c !== 0x2d)) {
      // A digit is due (after `e`, a sign may come first).
      if (!digit) {
        this.#fail('an invalid number');
        return false;
      }
      this.#num = s === N_MINUS ? (c === 0x30 ? N_ZERO : N_INT) : s === N_DOT ? N_FRAC : N_EXP;
      return true;
    }
    if (s === N_E) {
      this.#num = N_E_SIGN;
      return true;
    }
    if (digit && s !== N_ZERO) return true;
    if (c === 0x2e && (s === N_ZERO || s === N_INT)) this.#num = N_DOT;
    else if ((c === 0x65 || c === 0x45) && s !== N_EXP) this.#num = N_E;
    else return this.#endNumber();
    return true;
  }

  #endNumber(): false {
    this.#valueDone();
    return false;
  }
}
