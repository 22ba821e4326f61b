/**
 * The endpoints of a simulated region, after faults and base latency were applied by the simulator:
 *
 * - `POST /v1/chat/completions`: whole or streamed (SSE) answers paced by the region's profile.
 * - `POST /v1/embeddings`, `GET /v1/models`, `GET /health`.
 * - `GET /metrics`: the capacity model's load in vLLM's Prometheus format (see `capacity.ts`).
 * - `GET /sse-echo?frames=N&interval=MS`: N SSE frames, one every MS ms (the first at once), then `[DONE]`.
 * - anything else: an echo of the request as JSON, for tests of the gateway's forwarding.
 */
import {
  chatChunk,
  chatCompletion,
  embeddingList,
  estimateTokens,
  modelList,
  openAiError,
  usageChunk,
} from './openai-payloads.js';
import { vllmMetricsText } from './capacity.js';
import { cutConnection, endSse, sendJson, startSse, writeSse, type SimExchange, type SimProfile } from './sim-exchange.js';

/** The path of the paced SSE echo. */
export const SSE_ECHO_PATH = '/sse-echo';

/** The body of an echo answer. */
export interface EchoBody {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  httpVersion: string;
  body: string;
  region: string;
}

/** True when the region serves `model`. */
export function servesModel(profile: SimProfile, model: string): boolean {
  return profile.models.includes('*') || profile.models.includes(model);
}

/** Answer one exchange. */
export async function routeRequest(ex: SimExchange): Promise<void> {
  switch (`${ex.method} ${ex.path}`) {
    case 'POST /v1/chat/completions':
      return chatCompletions(ex);
    case 'POST /v1/embeddings':
      return embeddings(ex);
    case 'GET /v1/models':
      return sendJson(ex, 200, modelList(ex.profile.name, ex.profile.models));
    case 'GET /metrics':
      if (!ex.capacity.published) return sendJson(ex, 503, openAiError('metrics unavailable', 'server_error', null));
      return sendText(ex, vllmMetricsText(ex.capacity.report(), ex.profile.models));
    case 'GET /health':
      return sendJson(ex, 200, { status: 'ok', region: ex.profile.name });
    case `GET ${SSE_ECHO_PATH}`:
      return sseEcho(ex);
    default:
      return echo(ex);
  }
}

function parseJsonObject(ex: SimExchange): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(ex.body.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  const message = 'We could not parse the JSON body of your request: expected a JSON object.';
  sendJson(ex, 400, openAiError(message, 'invalid_request_error', 'invalid_json'));
  return undefined;
}

/** Check `model`: answers 400 (missing) or 404 (not served) and returns `undefined` on failure. */
function servedModel(ex: SimExchange, body: Record<string, unknown>): string | undefined {
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    sendJson(ex, 400, openAiError('You must provide a model parameter.', 'invalid_request_error', null, 'model'));
    return undefined;
  }
  if (servesModel(ex.profile, model)) return model;
  const message = `The model '${model}' does not exist or you do not have access to it (region ${ex.profile.name}).`;
  sendJson(ex, 404, openAiError(message, 'invalid_request_error', 'model_not_found', 'model'));
  return undefined;
}

function tokenCount(profileTokens: number, maxTokens: unknown): number {
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 0) {
    return Math.min(profileTokens, maxTokens);
  }
  return profileTokens;
}

async function chatCompletions(ex: SimExchange): Promise<void> {
  const body = parseJsonObject(ex);
  if (!body) return;
  const model = servedModel(ex, body);
  if (model === undefined) return;
  const { name, tokens } = ex.profile;
  const n = tokenCount(tokens, body.max_tokens ?? body.max_completion_tokens);
  const promptTokens = estimateTokens(body.messages);
  const id = `chatcmpl-sim-${name}-${ex.seq}`;
  // A slot from admission to the last byte: with the server full, the request waits in the queue first.
  if (!(await ex.capacity.acquire(ex.signal))) return;
  try {
    await answerChat(ex, body, id, model, n, promptTokens);
  } finally {
    ex.capacity.release();
  }
}

async function answerChat(
  ex: SimExchange,
  body: Record<string, unknown>,
  id: string,
  model: string,
  n: number,
  promptTokens: number,
): Promise<void> {
  const { name, ttftMs, tokenIntervalMs } = ex.profile;
  if (body.stream !== true) {
    if (!(await ex.sleep(ttftMs + n * tokenIntervalMs))) return;
    sendJson(ex, 200, chatCompletion(id, name, model, n, promptTokens));
    return;
  }
  const options = body.stream_options;
  const includeUsage =
    typeof options === 'object' && options !== null && (options as Record<string, unknown>).include_usage === true;
  startSse(ex);
  if (!(await ex.sleep(ttftMs))) return;
  for (let i = 0; i < n; i++) {
    if (i > 0 && !(await ex.sleep(tokenIntervalMs))) return;
    if (ex.resetAfter !== undefined && i >= ex.resetAfter) return cutConnection(ex);
    if (!writeSse(ex, JSON.stringify(chatChunk(id, name, model, i, n)))) return;
  }
  if (ex.resetAfter !== undefined) return cutConnection(ex);
  if (includeUsage) writeSse(ex, JSON.stringify(usageChunk(id, model, promptTokens, n)));
  endSse(ex);
}

function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'string')) return input as string[];
  if (input.every((x) => typeof x === 'number')) return [JSON.stringify(input)];
  if (input.every((x) => Array.isArray(x))) return input.map((x) => JSON.stringify(x));
  return undefined;
}

async function embeddings(ex: SimExchange): Promise<void> {
  const body = parseJsonObject(ex);
  if (!body) return;
  const model = servedModel(ex, body);
  if (model === undefined) return;
  const inputs = embeddingInputs(body.input);
  if (!inputs) {
    const message = "'input' must be a non-empty string or array of strings or token arrays.";
    sendJson(ex, 400, openAiError(message, 'invalid_request_error', null, 'input'));
    return;
  }
  sendJson(ex, 200, embeddingList(model, inputs));
}

function intParam(params: URLSearchParams, key: string, fallback: number, max: number): number {
  const value = Number(params.get(key) ?? fallback);
  return Number.isInteger(value) && value >= 0 ? Math.min(value, max) : fallback;
}

async function sseEcho(ex: SimExchange): Promise<void> {
  const params = new URLSearchParams(ex.query);
  const frames = intParam(params, 'frames', 5, 100_000);
  const interval = intParam(params, 'interval', 0, 60_000);
  startSse(ex);
  for (let i = 0; i < frames; i++) {
    if (i > 0 && !(await ex.sleep(interval))) return;
    if (ex.resetAfter !== undefined && i >= ex.resetAfter) return cutConnection(ex);
    if (!writeSse(ex, JSON.stringify({ frame: i, region: ex.profile.name }))) return;
  }
  if (ex.resetAfter !== undefined) return cutConnection(ex);
  endSse(ex);
}

function sendText(ex: SimExchange, text: string): void {
  const payload = Buffer.from(text);
  ex.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': payload.length });
  ex.res.end(payload);
}

function echo(ex: SimExchange): void {
  const body: EchoBody = {
    method: ex.method,
    path: ex.path,
    query: ex.query,
    headers: ex.req.headers,
    rawHeaders: ex.req.rawHeaders,
    httpVersion: ex.req.httpVersion,
    body: ex.body.toString('utf8'),
    region: ex.profile.name,
  };
  sendJson(ex, 200, body);
}
