/**
 * `BodyModelReader`: the model a request body asks for, read as the chunks arrive, the way the upstream
 * will read it whatever the headers claim. Every body is read as JSON (a `text/plain` or missing content
 * type does not stop an upstream from parsing JSON); a form content type adds a form reading, and when
 * the body is both valid JSON and a form the two must agree. A `content-encoding` other than identity, or
 * a charset other than UTF-8 (an upstream may decode UTF-7 or UTF-16 into a different key), makes the
 * model undetermined. An empty body has no model.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ModelScanner } from './model-scanner.js';
import { ABSENT, sameReading, undetermined, type ModelReading } from './model-reading.js';
import { headerParams, MultipartModelReader } from './multipart-model-reader.js';
import { UrlencodedModelReader } from './urlencoded-model-reader.js';

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/; // RFC 2046 §5.1.1

interface ChunkReader {
  write(chunk: Buffer): void;
  finish(): ModelReading;
}

export class BodyModelReader {
  readonly #json: ModelScanner | undefined;
  readonly #form: ChunkReader | undefined;
  /** Decided by the headers alone, before any byte. */
  readonly #fixed: ModelReading | undefined;
  #bytes = 0;

  constructor(headers: IncomingHttpHeaders) {
    const encoding = headers['content-encoding']?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      this.#fixed = undetermined(`the body has content-encoding ${encoding}`);
      return;
    }
    const type = headers['content-type'] ?? '';
    const semi = type.indexOf(';');
    const media = (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
    const params = semi === -1 ? new Map<string, string>() : headerParams(type, semi);
    const charset = params?.get('charset');
    if (params === undefined) this.#fixed = undetermined('the content-type parameters cannot be read');
    else if (charset !== undefined && !/^(utf-?8|us-ascii)$/i.test(charset)) this.#fixed = undetermined(`the body has charset ${charset}`);
    else if (media === 'multipart/form-data') {
      const boundary = params.get('boundary');
      if (boundary === undefined || !BOUNDARY.test(boundary)) this.#fixed = undetermined('multipart without a valid boundary');
      else this.#form = new MultipartModelReader(boundary);
    } else if (media === 'application/x-www-form-urlencoded') this.#form = new UrlencodedModelReader();
    if (this.#fixed === undefined) this.#json = new ModelScanner();
  }

  /** Read the next chunk of the body. */
  write(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#fixed !== undefined) return;
    this.#json?.write(chunk);
    this.#form?.write(chunk);
  }

  /** Whether a JSON body's top-level `stream` is `true` (after the whole body was written). */
  get stream(): boolean {
    return this.#json?.stream ?? false;
  }

  /** The whole body was read: the model the upstream will read. */
  finish(): ModelReading {
    if (this.#bytes === 0) return ABSENT;
    if (this.#fixed !== undefined) return this.#fixed;
    const scanner = this.#json as ModelScanner;
    const json = scanner.finish();
    if (this.#form === undefined) {
      // A plain JSON body: say where the model is, so an endpoint's own name for it can be spliced in.
      const span = scanner.modelSpan;
      return json.kind === 'model' && span !== undefined ? { ...json, span } : json;
    }
    const form = this.#form.finish();
    if (!scanner.wellFormed || sameReading(form, json)) return form;
    return undetermined('the body reads differently as a form and as JSON');
  }
}

/** The model of a complete body (one chunk), for callers that hold the whole body. */
export function readBodyModel(headers: IncomingHttpHeaders, body: Buffer): ModelReading {
  const reader = new BodyModelReader(headers);
  reader.write(body);
  return reader.finish();
}
