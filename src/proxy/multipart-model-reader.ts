/**
 * `MultipartModelReader`: the `model` field of a `multipart/form-data` body (RFC 7578; OpenAI's audio and
 * file endpoints send `model` this way), read as the chunks arrive. Form parsers differ at the edges
 * (preambles, header folding, RFC 2231 `name*=`, quoted-pair escapes, per-part charsets and transfer
 * encodings), so this reader is strict and calls anything unusual undetermined: a body that does not start
 * with its boundary, a part whose headers it cannot read exactly, a `model` part that is a file or has a
 * non-UTF-8 charset or a transfer encoding, duplicate `model` parts, an unterminated body.
 *
 * Memory: the current part's header block (capped at `MAX_PART_HEADER_BYTES`), the capped model value and
 * a carry of less than one delimiter between chunks. Delimiters are found with `Buffer.indexOf`.
 */
import { ModelCapture } from './model-capture.js';
import { ABSENT, undetermined, type ModelReading } from './model-reading.js';

export const MAX_PART_HEADER_BYTES = 8192;
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const PARAM = new RegExp(`\\s*;\\s*(${TOKEN})\\s*=\\s*("[^"\\\\\\r\\n]*"|${TOKEN})\\s*`, 'y');
const HEADER = new RegExp(`^(${TOKEN}):[ \\t]*(.*?)[ \\t]*$`);

const START = 0; // expecting `--boundary` at the very start
const AFTER_DELIMITER = 1; // `\r\n` (a part follows) or `--` (the end)
const HEADERS = 2;
const CONTENT = 3;
const EPILOGUE = 4;
const FAILED = 5;

/** Parameters of a header value after its first token (`form-data; name="x"`), or undefined if unreadable. */
export function headerParams(value: string, from: number): Map<string, string> | undefined {
  const params = new Map<string, string>();
  PARAM.lastIndex = from;
  let at = from;
  while (at < value.length) {
    const m = PARAM.exec(value);
    if (m === null || m.index !== at) return undefined;
    const key = m[1].toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, m[2].startsWith('"') ? m[2].slice(1, -1) : m[2]);
    at = PARAM.lastIndex;
  }
  return params;
}

export class MultipartModelReader {
  /** `\r\n--boundary`: what ends every part. */
  readonly #delimiter: Buffer;
  #state = START;
  #reason = '';
  #at = 0; // bytes of a fixed sequence matched so far (START, AFTER_DELIMITER)
  #closing = false; // AFTER_DELIMITER saw the first `-`
  readonly #head = Buffer.allocUnsafe(MAX_PART_HEADER_BYTES);
  #headLen = 0;
  #carry: Buffer = Buffer.alloc(0);
  #isModel = false;
  #models = 0;
  #modelOk = false;
  readonly #capture = new ModelCapture();

  constructor(boundary: string) {
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  write(b: Buffer): void {
    let i = 0;
    while (i < b.length && this.#state !== FAILED && this.#state !== EPILOGUE) {
      if (this.#state === START) {
        // The first delimiter has no CRLF before it; no preamble is allowed (parsers disagree on it).
        const d = this.#delimiter;
        if (b[i] !== d[this.#at + 2]) return this.#fail('the body does not start with its boundary');
        i++;
        if (++this.#at === d.length - 2) this.#afterDelimiter();
      } else if (this.#state === AFTER_DELIMITER) {
        const c = b[i++];
        if (this.#at === 0) {
          this.#closing = c === 0x2d;
          if (c !== 0x2d && c !== 0x0d) return this.#fail('a boundary is followed by something else than CRLF or --');
          this.#at = 1;
        } else if (c !== (this.#closing ? 0x2d : 0x0a)) return this.#fail('a boundary is followed by something else than CRLF or --');
        else if (this.#closing) this.#state = EPILOGUE;
        else {
          this.#state = HEADERS;
          this.#headLen = 0;
        }
      } else if (this.#state === HEADERS) i = this.#headers(b, i);
      else i = this.#content(b, i);
    }
  }

  finish(): ModelReading {
    if (this.#state === FAILED) return undetermined(`multipart body: ${this.#reason}`);
    if (this.#state !== EPILOGUE) return undetermined('the multipart body is truncated');
    if (this.#models > 1) return undetermined('duplicate model fields');
    if (this.#models === 0) return ABSENT;
    if (!this.#modelOk) return undetermined('the model field is empty, too long or not UTF-8');
    return { kind: 'model', model: this.#capture.text() };
  }

  #fail(reason: string): void {
    this.#state = FAILED;
    this.#reason = reason;
  }

  #afterDelimiter(): void {
    this.#state = AFTER_DELIMITER;
    this.#at = 0;
  }

  /** Collect the part's header block up to the blank line; returns where its content starts. */
  #headers(b: Buffer, i: number): number {
    const before = this.#headLen;
    const n = Math.min(b.length - i, MAX_PART_HEADER_BYTES - before);
    b.copy(this.#head, before, i, i + n);
    this.#headLen += n;
    const block = this.#head.subarray(0, this.#headLen);
    // A part without headers starts with the blank line itself.
    const end = block[0] === 0x0d && block[1] === 0x0a ? -2 : block.indexOf(CRLF_CRLF, Math.max(0, before - 3));
    if (end === -1) {
      if (this.#headLen === MAX_PART_HEADER_BYTES) this.#fail('part headers are too long');
      return b.length;
    }
    this.#part(end === -2 ? '' : block.toString('latin1', 0, end));
    this.#state = this.#state === FAILED ? FAILED : CONTENT;
    this.#carry = Buffer.alloc(0);
    return i + (end === -2 ? 2 : end + 4) - before;
  }

  /** Judge one part by its headers: is it the model field, and can it be read the way every parser reads it? */
  #part(block: string): void {
    this.#isModel = false;
    let disposition: Map<string, string> | undefined;
    let contentType: string | undefined;
    let encoding: string | undefined;
    for (const line of block === '' ? [] : block.split('\r\n')) {
      const m = HEADER.exec(line);
      if (m === null) return this.#fail('a part header cannot be read');
      const name = m[1].toLowerCase();
      const value = m[2];
      if (name === 'content-disposition') {
        const kind = /^form-data/i.exec(value);
        if (disposition !== undefined || kind === null) return this.#fail('a part has no single form-data disposition');
        disposition = headerParams(value, kind[0].length);
        if (disposition === undefined) return this.#fail('a part disposition cannot be read');
      } else if (name === 'content-type') contentType = value;
      else if (name === 'content-transfer-encoding') encoding = value.toLowerCase();
    }
    const field = disposition?.get('name');
    if (field === undefined) return this.#fail('a part has no name');
    if (disposition?.has('name*')) return this.#fail('a part has an RFC 2231 name');
    if (field !== 'model') return;
    if (disposition?.has('filename') || disposition?.has('filename*')) return this.#fail('the model field is a file');
    if (encoding !== undefined && encoding !== '7bit' && encoding !== '8bit' && encoding !== 'binary')
      return this.#fail('the model field has a transfer encoding');
    if (contentType !== undefined) {
      const semi = contentType.indexOf(';');
      const charset = semi === -1 ? undefined : headerParams(contentType, semi)?.get('charset');
      if (semi !== -1 && (charset === undefined ? headerParams(contentType, semi) === undefined : !/^utf-?8$/i.test(charset)))
        return this.#fail('the model field has a charset other than UTF-8');
    }
    this.#isModel = true;
    this.#models++;
    this.#capture.begin();
  }

  /** Part content up to the next delimiter (which may straddle chunks); returns where reading goes on. */
  #content(b: Buffer, i: number): number {
    const d = this.#delimiter;
    const carry = this.#carry;
    if (carry.length > 0) {
      const probe = Buffer.concat([carry, b.subarray(i, i + d.length - 1)]);
      const p = probe.indexOf(d);
      if (p !== -1) {
        this.#keep(probe, 0, p);
        return this.#endPart(i + p + d.length - carry.length);
      }
      if (b.length - i < d.length - 1) {
        // Too little new data to rule a delimiter out: keep the tail of the probe for the next chunk.
        const keep = Math.min(probe.length, d.length - 1);
        this.#keep(probe, 0, probe.length - keep);
        this.#carry = Buffer.from(probe.subarray(probe.length - keep));
        return b.length;
      }
      this.#keep(carry, 0, carry.length);
      this.#carry = Buffer.alloc(0);
    }
    const q = b.indexOf(d, i);
    if (q !== -1) {
      this.#keep(b, i, q);
      return this.#endPart(q + d.length);
    }
    const keep = Math.min(d.length - 1, b.length - i);
    this.#keep(b, i, b.length - keep);
    this.#carry = Buffer.from(b.subarray(b.length - keep));
    return b.length;
  }

  #keep(src: Buffer, start: number, end: number): void {
    if (this.#isModel) this.#capture.bytes(src, start, end);
  }

  #endPart(next: number): number {
    if (this.#isModel) this.#modelOk = this.#capture.end(true) === 'ok' && this.#capture.text().length > 0;
    this.#isModel = false;
    this.#carry = Buffer.alloc(0);
    this.#afterDelimiter();
    return next;
  }
}
