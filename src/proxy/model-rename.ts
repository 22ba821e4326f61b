/**
 * Renaming a model back in an answer: an endpoint that knows a model by its own id (`models` as a map)
 * names it so in its answers, and the client must see the id it asked for. Done as the bytes stream, never
 * buffering the answer: a JSON body's top-level `"model": "<endpoint id>"` and, in an SSE stream, the same
 * in each `data:` line's JSON (for `/v1/models/{id}`, the model object's top-level `id`). Only bytes that may still turn out to be that member are held back (a key,
 * its colon and the value: bounded), so chunk boundaries anywhere, even inside an event, are safe.
 */

/** Whitespace allowed around the colon before giving up on a match (keeps what is held bounded). */
const MAX_SPACE = 64;
const DATA = Buffer.from('data:');

/** A transform of an answer's bytes: what to send for each chunk, and what is left at the end. */
export interface AnswerRenamer {
  push(chunk: Buffer): Buffer;
  flush(): Buffer;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * One JSON document's top-level `"model": "<from>"` becomes `"model": "<to>"`; every other byte passes
 * through as it came. The structure is tracked (strings, escapes, depth) without checking the grammar:
 * an answer is the endpoint's, the gateway only relays it.
 */
export class JsonModelRenamer implements AnswerRenamer {
  readonly #from: Buffer;
  readonly #to: Buffer;
  /** The member's key, quoted: `"model"`, or `"id"` in a model object (`/v1/models/{id}`). */
  readonly #key: Buffer;
  #depth = 0;
  #inString = false;
  #escape = false;
  /** Bytes held while they may be the member being renamed; `#phase` says how far the match got. */
  #held: number[] = [];
  #phase = 0; // 0 none, 1 in the key, 2 between key and value, 3 in the value
  #at = 0;
  #spaces = 0;

  constructor(from: string, to: string, key = 'model') {
    this.#from = Buffer.from(JSON.stringify(from));
    this.#to = Buffer.from(JSON.stringify(to));
    this.#key = Buffer.from(JSON.stringify(key));
  }

  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let emitFrom = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.#phase !== 0) {
        const verdict = this.#advance(c);
        if (verdict === 'more') {
          this.#held.push(c);
          this.#track(c);
          emitFrom = i + 1;
          continue;
        }
        if (verdict === 'renamed') {
          out.push(Buffer.from(this.#held), this.#to);
          this.#reset();
          this.#track(c);
          emitFrom = i + 1;
          continue;
        }
        // Not the member after all: the held bytes go out as they came, and `c` is read as usual below.
        out.push(Buffer.from(this.#held));
        this.#reset();
        emitFrom = i;
      }
      if (c === 0x22 && !this.#inString && this.#depth === 1) {
        out.push(chunk.subarray(emitFrom, i));
        this.#phase = 1;
        this.#at = 1;
        this.#held.push(c);
        this.#track(c);
        emitFrom = i + 1;
        continue;
      }
      this.#track(c);
    }
    if (emitFrom < chunk.length) out.push(chunk.subarray(emitFrom));
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  flush(): Buffer {
    const rest = Buffer.from(this.#held);
    this.#reset();
    return rest;
  }

  /** The next byte of a possible match: keep holding, the match is complete, or it failed. */
  #advance(c: number): 'more' | 'renamed' | 'no' {
    switch (this.#phase) {
      case 1:
        if (c !== this.#key[this.#at]) return 'no';
        if (++this.#at === this.#key.length) this.#phase = 2;
        return 'more';
      case 2:
        if (isSpace(c)) return ++this.#spaces > MAX_SPACE ? 'no' : 'more';
        if (c === 0x3a && this.#at === this.#key.length) {
          this.#at = this.#key.length + 1; // the colon is read: the value is next
          return 'more';
        }
        if (this.#at !== this.#key.length + 1 || c !== this.#from[0]) return 'no';
        this.#phase = 3;
        this.#at = 1;
        return 'more';
      default:
        if (c !== this.#from[this.#at]) return 'no';
        if (++this.#at === this.#from.length) {
          // The value's bytes are replaced: drop the ones held so far (all but the closing quote, not held).
          this.#held.length -= this.#from.length - 1;
          return 'renamed';
        }
        return 'more';
    }
  }

  #reset(): void {
    this.#held = [];
    this.#phase = 0;
    this.#at = 0;
    this.#spaces = 0;
  }

  /** Strings, escapes and nesting, so only the top level's keys are matched. */
  #track(c: number): void {
    if (this.#inString) {
      if (this.#escape) this.#escape = false;
      else if (c === 0x5c) this.#escape = true;
      else if (c === 0x22) this.#inString = false;
      return;
    }
    if (c === 0x22) this.#inString = true;
    else if (c === 0x7b || c === 0x5b) this.#depth++;
    else if (c === 0x7d || c === 0x5d) this.#depth--;
  }
}

/**
 * An SSE stream's `data:` lines each read as a JSON document for `JsonModelRenamer`; other lines, and
 * everything outside the matched member, pass through untouched. A line ends at CR or LF.
 */
export class SseModelRenamer implements AnswerRenamer {
  readonly #from: string;
  readonly #to: string;
  /** The current line's renamer once it is known to be `data:`; undefined before (or for other fields). */
  #line: JsonModelRenamer | undefined;
  /** Bytes of the line's start matched against `data:` so far; -1 once the field is decided. */
  #prefix = 0;

  constructor(from: string, to: string) {
    this.#from = from;
    this.#to = to;
  }

  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 0x0a || c === 0x0d) {
        this.#emit(out, chunk.subarray(start, i));
        if (this.#line !== undefined) out.push(this.#line.flush());
        this.#line = undefined;
        this.#prefix = 0;
        start = i;
        continue;
      }
      if (this.#prefix === -1) continue;
      if (c === DATA[this.#prefix]) {
        if (++this.#prefix === DATA.length) {
          out.push(chunk.subarray(start, i + 1));
          start = i + 1;
          this.#line = new JsonModelRenamer(this.#from, this.#to);
          this.#prefix = -1;
        }
      } else this.#prefix = -1;
    }
    this.#emit(out, chunk.subarray(start));
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  flush(): Buffer {
    const rest = this.#line?.flush() ?? Buffer.alloc(0);
    this.#line = undefined;
    return rest;
  }

  #emit(out: Buffer[], bytes: Buffer): void {
    if (bytes.length === 0) return;
    out.push(this.#line === undefined ? bytes : this.#line.push(bytes));
  }
}

/**
 * The renamer for an answer, or undefined when it needs none: only JSON and SSE bodies without a
 * content-encoding (a compressed body passes untouched), and only when the endpoint renamed the model.
 */
export function answerRenamer(
  headers: Record<string, string | string[] | undefined>,
  upstreamId: string,
  clientId: string,
  key = 'model',
): AnswerRenamer | undefined {
  if (upstreamId === clientId) return undefined;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && (typeof encoding !== 'string' || encoding.trim().toLowerCase() !== 'identity')) return undefined;
  const type = headers['content-type'];
  if (typeof type !== 'string') return undefined;
  const media = type.split(';')[0].trim().toLowerCase();
  if (media === 'text/event-stream') return new SseModelRenamer(upstreamId, clientId);
  if (media === 'application/json' || media.endsWith('+json')) return new JsonModelRenamer(upstreamId, clientId, key);
  return undefined;
}
