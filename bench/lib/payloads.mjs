/**
 * The bodies the bench sends and the fast target answers: a 1 KB OpenAI-style chat request, a fixed
 * 1 KB chat completion, and the streamed request of the SSE scenario.
 */

export const CHAT_PATH = '/v1/chat/completions';
export const BODY_BYTES = 1024;

/**
 * JSON of `withPad(pad)` padded to exactly `bytes` bytes through its `pad` string.
 * @param {(pad: string) => Record<string, unknown>} withPad
 */
function padded(withPad, bytes = BODY_BYTES) {
  const base = JSON.stringify(withPad('')).length;
  const text = JSON.stringify(withPad('x'.repeat(Math.max(0, bytes - base))));
  if (text.length !== bytes) throw new Error(`payload is ${text.length} bytes, not ${bytes}`);
  return text;
}

/** The 1 KB chat request body (non-streamed). */
export const CHAT_REQUEST = padded((pad) => ({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a benchmark.' },
    { role: 'user', content: `Say hello. ${pad}` },
  ],
  max_tokens: 16,
}));

/** The fixed 1 KB chat completion the fast target answers with. */
export const CHAT_RESPONSE = padded((pad) => ({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: `Hello. ${pad}` }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 24, completion_tokens: 16, total_tokens: 40 },
}));

/** The streamed chat request of the SSE scenario (the simulator answers with its profile's frames). */
export const STREAM_REQUEST = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'Stream a reply.' }],
});

/** Request headers every system gets (a Portkey run adds its routing headers). */
export const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json', authorization: 'Bearer bench-key' });
