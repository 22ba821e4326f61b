/**
 * One model, many names, on the way out: the request an endpoint gets names the model as that endpoint
 * knows it (`endpoints[].models` as a map). The body is already buffered, so the model string the gateway
 * read is spliced out and the endpoint's id (JSON-encoded) spliced in; every other byte stays as the
 * client sent it (no re-serialising, so numbers and key order are untouched). Other endpoints get the
 * original body. `GET|DELETE /v1/models/{id}` gets the endpoint's id in its path instead, and a WebSocket
 * upgrade in its `model` query parameter.
 */
import { upstreamModel, type Endpoint } from '../registry/endpoint.js';
import { GatewayError } from '../errors.js';

/** What an attempt at `endpoint` sends: the body and path as that endpoint names the model. */
export interface RenamedRequest {
  readonly body: Buffer | null;
  readonly url: string;
  /** The endpoint's id for the model when it differs from the client's (its answers name that one). */
  readonly upstreamId: string | undefined;
}

/**
 * The request for `endpoint`: `model` is what the gateway read (undefined: none), `span` where the body
 * holds it, `inPath` whether it came from a `/v1/models/{id}` path. Undefined when the endpoint renames the
 * model and neither applies (a form body): the caller refuses rather than forward the wrong name. `made`
 * keeps each renamed body, by endpoint id for the model, for the exchange's later attempts.
 */
export function requestFor(
  endpoint: Endpoint,
  model: string | undefined,
  span: readonly [number, number] | undefined,
  inPath: boolean,
  body: Buffer | null,
  url: string,
  made: Map<string, Buffer | null>,
): RenamedRequest | undefined {
  if (model === undefined || endpoint.upstreamIds === undefined) return { body, url, upstreamId: undefined };
  const own = upstreamModel(endpoint, model);
  if (own === model) return { body, url, upstreamId: undefined };
  if (inPath) {
    const q = url.indexOf('?');
    const path = '/v1/models/' + own.split('/').map(pathSegment).join('/');
    return { body, url: q === -1 ? path : path + url.slice(q), upstreamId: own };
  }
  if (body === null || span === undefined) return undefined;
  let renamed = made.get(own);
  if (renamed === undefined) {
    renamed = Buffer.concat([body.subarray(0, span[0]), Buffer.from(JSON.stringify(own)), body.subarray(span[1])]);
    made.set(own, renamed);
  }
  return { body: renamed, url, upstreamId: own };
}

/**
 * A WebSocket upgrade's target with the first `model` query parameter (the one the gateway routed on) naming
 * `endpoint`'s id for `model`; every other byte of the target as sent.
 */
export function upgradeTargetFor(endpoint: Endpoint, model: string | undefined, url: string): string {
  if (model === undefined) return url;
  const own = upstreamModel(endpoint, model);
  const q = url.indexOf('?');
  if (own === model || q === -1) return url;
  const pairs = url.slice(q + 1).split('&');
  for (let i = 0; i < pairs.length; i++) {
    const eq = pairs[i].indexOf('=');
    const name = eq === -1 ? pairs[i] : pairs[i].slice(0, eq);
    if (queryDecode(name) !== 'model') continue;
    pairs[i] = `${name}=${encodeURIComponent(own)}`;
    break;
  }
  return `${url.slice(0, q + 1)}${pairs.join('&')}`;
}

/** A query name as URLSearchParams reads it (`+` is a space; a bad escape is kept as is). */
function queryDecode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** `segment` escaped for a path, keeping what RFC 3986 allows there (`:` in Bedrock ids, `@`, ...) as is. */
function pathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(?:3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/g, decodeURIComponent);
}

/** `RG_ERR_MODEL_RENAME_UNSUPPORTED`: an endpoint names `model` otherwise and the body is not plain JSON. */
export function renameUnsupported(model: string): GatewayError {
  const shown = model.length > 100 ? `${model.slice(0, 100)}…` : model;
  return new GatewayError('RG_ERR_MODEL_RENAME_UNSUPPORTED', {
    message: `The model ${JSON.stringify(shown)} has another name at an endpoint that serves it; the gateway renames it only in a JSON body (not a form). Send the request as JSON.`,
    openai: { type: 'invalid_request_error', code: 'RG_ERR_MODEL_RENAME_UNSUPPORTED', param: 'model' },
  });
}
