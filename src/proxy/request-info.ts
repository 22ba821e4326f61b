/**
 * What routing needs to know about a request, read from its headers and buffered body.
 */

const MODEL_KEY = Buffer.from('"model"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The `model` of a JSON body, or undefined (not JSON, malformed, or no model: any endpoint may take it). */
export function requestModel(contentType: string | undefined, body: Buffer): string | undefined {
  if (body.length === 0 || contentType === undefined || !contentType.includes('json')) return undefined;
  const at = body.indexOf(MODEL_KEY);
  if (at === -1) return undefined;
  // Fast path: `"model"` is a top-level key with a plain string value (OpenAI clients put it first).
  // Anything less certain goes to JSON.parse, which is exact but costs a full parse.
  if (isTopLevelKey(body, at)) {
    const value = plainStringValue(body, at + MODEL_KEY.length);
    if (value !== undefined) return value.length > 0 ? value : undefined;
  }
  return parsedModel(body);
}

/** Whether the string starting at `at` sits directly in the top-level object (depth 1, outside strings). */
function isTopLevelKey(body: Buffer, at: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < at; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++; // { [
    else if (c === 0x7d || c === 0x5d) depth--; // } ]
  }
  return depth === 1 && !inString;
}

/** The string value after a key ending at `from` (`: "value"`), when it has no escapes; else undefined. */
function plainStringValue(body: Buffer, from: number): string | undefined {
  let i = from;
  while (i < body.length && isSpace(body[i])) i++;
  if (body[i] !== 0x3a) return undefined; // :
  i++;
  while (i < body.length && isSpace(body[i])) i++;
  if (body[i] !== QUOTE) return undefined;
  const start = i + 1;
  for (let j = start; j < body.length; j++) {
    const c = body[j];
    if (c === BACKSLASH) return undefined;
    if (c === QUOTE) return body.toString('utf8', start, j);
  }
  return undefined;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function parsedModel(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && 'model' in parsed) {
      const model = (parsed as { model: unknown }).model;
      return typeof model === 'string' && model.length > 0 ? model : undefined;
    }
  } catch {
    // Not ours to judge: the upstream answers a malformed body with its own 400.
  }
  return undefined;
}

const STREAM_KEY = Buffer.from('"stream"');

/**
 * Whether a JSON body asks for a streamed answer (`"stream": true`). Only picks a default first-byte
 * limit, so a cheap look is enough: a body that fools it only changes its own limit.
 */
export function requestsStream(body: Buffer): boolean {
  let at = body.indexOf(STREAM_KEY);
  while (at !== -1) {
    let i = at + STREAM_KEY.length;
    while (isSpace(body[i])) i++;
    if (body[i] === 0x3a) {
      i++;
      while (isSpace(body[i])) i++;
      if (body[i] === 0x74 && body[i + 1] === 0x72 && body[i + 2] === 0x75 && body[i + 3] === 0x65) return true; // true
    }
    at = body.indexOf(STREAM_KEY, at + 1);
  }
  return false;
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
