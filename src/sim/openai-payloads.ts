/**
 * The OpenAI-compatible JSON bodies a simulated region answers with: errors, chat completions (whole and
 * streamed chunks), embeddings and the model list. Pure functions; the content is deterministic so tests
 * can compare a streamed answer with a whole one.
 */

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Embedding vectors have this many dimensions. */
export const EMBEDDING_DIMS = 8;

/** An OpenAI-style error body. */
export function openAiError(message: string, type: string, code: string | null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** The text of token `i` of a region's answer; the first token names the region. */
export function tokenText(region: string, i: number): string {
  return i === 0 ? `Hello from ${region}.` : ` token-${i}`;
}

/** The whole answer text of `n` tokens (what a stream's deltas concatenate to). */
export function answerText(region: string, n: number): string {
  let text = '';
  for (let i = 0; i < n; i++) text += tokenText(region, i);
  return text;
}

/** A rough prompt size: about four characters per token, like tiktoken on English. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return Math.max(1, Math.ceil(text.length / 4));
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

function created(): number {
  return Math.floor(Date.now() / 1000);
}

/** A whole `chat.completion`. */
export function chatCompletion(id: string, region: string, model: string, n: number, promptTokens: number): object {
  return {
    id,
    object: 'chat.completion',
    created: created(),
    model,
    system_fingerprint: `sim-${region}`,
    choices: [
      { index: 0, message: { role: 'assistant', content: answerText(region, n) }, finish_reason: 'stop', logprobs: null },
    ],
    usage: usage(promptTokens, n),
  };
}

/** One `chat.completion.chunk` carrying token `i` of `n`; the last carries `finish_reason: "stop"`. */
export function chatChunk(id: string, region: string, model: string, i: number, n: number): object {
  const delta = i === 0 ? { role: 'assistant', content: tokenText(region, i) } : { content: tokenText(region, i) };
  return {
    id,
    object: 'chat.completion.chunk',
    created: created(),
    model,
    system_fingerprint: `sim-${region}`,
    choices: [{ index: 0, delta, finish_reason: i === n - 1 ? 'stop' : null, logprobs: null }],
  };
}

/** The final usage chunk sent when the request asked for `stream_options.include_usage`. */
export function usageChunk(id: string, model: string, promptTokens: number, n: number): object {
  return { id, object: 'chat.completion.chunk', created: created(), model, choices: [], usage: usage(promptTokens, n) };
}

/** FNV-1a, 32 bits: a small stable hash to seed embedding vectors. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A deterministic unit vector of `EMBEDDING_DIMS` floats for a text. */
export function embeddingVector(text: string): number[] {
  let seed = fnv1a(text);
  const raw: number[] = [];
  for (let d = 0; d < EMBEDDING_DIMS; d++) {
    seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) >>> 0;
    raw.push(seed / 0xffffffff - 0.5);
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** An embedding list for string inputs. */
export function embeddingList(model: string, inputs: readonly string[]): object {
  const promptTokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  return {
    object: 'list',
    data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embeddingVector(text) })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/**
 * The `GET /v1/models` list. A region that serves any model lists none: a finite list would claim it
 * serves only those (gateways learn what `"*"` endpoints serve from this list).
 */
export function modelList(region: string, models: readonly string[]): object {
  const ids = models.includes('*') ? [] : models;
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: `sim-${region}` })) };
}
