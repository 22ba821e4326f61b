/**
 * What routing needs to know about a request, read from its headers and buffered body.
 */
import { readBodyModel } from './body-model-reader.js';
import { ABSENT, type ModelReading } from './model-reading.js';
import { UrlencodedModelReader } from './urlencoded-model-reader.js';

/**
 * The model of a complete body, or undefined when it has none or it cannot be determined. Read the way the
 * upstream reads it (`body-model-reader.ts`): by the bytes, whatever `contentType` says. Callers that must
 * tell "none" from "cannot be determined" use `readBodyModel` or `BodyModelReader`.
 */
export function requestModel(contentType: string | undefined, body: Buffer): string | undefined {
  const reading = readBodyModel(contentType === undefined ? {} : { 'content-type': contentType }, body);
  return reading.kind === 'model' ? reading.model : undefined;
}

/**
 * The `model` query parameter of a request target (`/v1/realtime?model=gpt-4o-realtime`: how OpenAI's
 * Realtime API names the model of a WebSocket upgrade), read like a urlencoded form: duplicates and
 * `model[...]` are undetermined.
 */
export function queryModel(url: string | undefined): ModelReading {
  const q = url === undefined ? -1 : url.indexOf('?');
  if (q === -1) return ABSENT;
  const reader = new UrlencodedModelReader();
  reader.write(Buffer.from((url as string).slice(q + 1), 'latin1'));
  return reader.finish();
}

/** Regions allowed by an `x-regiongate-regions: eu-west-1,europe-west4` header. */
export function requestRegions(header: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (header === undefined) return undefined;
  const set = new Set<string>();
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const name = part.trim();
    if (name) set.add(name);
  }
  return set.size > 0 ? set : undefined;
}
