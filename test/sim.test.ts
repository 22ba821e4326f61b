// The region simulator on real sockets: endpoints, SSE pacing, echo, upgrades, every fault mode, and a
// close() that leaves nothing running (checked in a child process that must exit by itself).
import { spawn } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { Agent, request } from 'undici';
import { answerText, EMBEDDING_DIMS, RegionSimulator, webSocketAccept, type RegionSimulatorOptions } from '../src/sim/index.js';
import { built } from './helpers/built.js';
import { within } from './helpers/wait.js';

const agent = new Agent({ keepAliveTimeout: 500 });
t.teardown(() => agent.destroy());

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function startSim(tt: Teardown, options: RegionSimulatorOptions): Promise<RegionSimulator> {
  const sim = new RegionSimulator(options);
  await sim.start();
  tt.teardown(() => sim.close());
  return sim;
}

function post(url: string, body: unknown, signal?: AbortSignal) {
  return request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

interface StreamResult {
  status: number;
  headers: IncomingHttpHeaders;
  headersAt: number;
  chunks: { at: number; text: string }[];
  error?: Error;
}

/** POST and record when the headers and each body chunk arrive (node:http: one 'data' per TCP read). */
function stream(url: string, body: unknown): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const result: StreamResult = { status: res.statusCode ?? 0, headers: res.headers, headersAt: performance.now(), chunks: [] };
      res.setEncoding('utf8');
      res.on('data', (text: string) => result.chunks.push({ at: performance.now(), text }));
      res.on('error', (error) => (result.error = error));
      res.on('close', () => {
        if (!res.complete && !result.error) result.error = new Error('incomplete body');
        resolve(result);
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function frames(text: string): string[] {
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => f.slice('data: '.length));
}

/** Send an Upgrade request on a raw socket; resolves the socket and the response head. */
function upgrade(port: number, headers: Record<string, string>): Promise<{ socket: Socket; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ socket, head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before a response')));
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
    socket.write(`GET /ws HTTP/1.1\r\nHost: sim\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

t.test('non-stream chat completion', async (t) => {
  const sim = await startSim(t, { name: 'r1', latencyMs: 5, tokens: 4, models: ['gpt-4o-mini'] });
  const res = await post(`${sim.url}/v1/chat/completions`, CHAT);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-sim-region'], 'r1');
  const body = (await res.body.json()) as { object: string; model: string; choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
  t.equal(body.object, 'chat.completion');
  t.equal(body.model, 'gpt-4o-mini');
  t.match(body.choices[0].message.content, /r1/);
  t.equal(body.choices[0].message.content, answerText('r1', 4));
  t.equal(body.usage.completion_tokens, 4);
  const capped = (await (await post(`${sim.url}/v1/chat/completions`, { ...CHAT, max_tokens: 2 })).body.json()) as typeof body;
  t.equal(capped.usage.completion_tokens, 2);
  t.equal(sim.stats.byPath['/v1/chat/completions'], 2);
  t.equal(sim.stats.lastRequest?.method, 'POST');
});

t.test('SSE stream: headers first, then one chunk per token at the configured pace, then [DONE]', async (t) => {
  const sim = await startSim(t, { name: 'r-sse', ttftMs: 60, tokens: 4, tokenIntervalMs: 50 });
  const start = performance.now();
  const res = await stream(`${sim.url}/v1/chat/completions`, { ...CHAT, stream: true });
  t.equal(res.status, 200);
  t.equal(res.headers['content-type'], 'text/event-stream');
  t.equal(res.headers['cache-control'], 'no-cache');
  t.equal(res.headers['x-sim-region'], 'r-sse');
  t.notOk(res.error);
  const all = frames(res.chunks.map((c) => c.text).join(''));
  t.equal(all.at(-1), '[DONE]');
  const tokens = all.slice(0, -1).map((f) => JSON.parse(f) as { object: string; choices: { delta: { content: string } }[] });
  t.equal(tokens.length, 4);
  t.ok(tokens.every((c) => c.object === 'chat.completion.chunk'));
  t.equal(tokens.map((c) => c.choices[0].delta.content).join(''), answerText('r-sse', 4));
  const tokenChunks = res.chunks.filter((c) => c.text.includes('chat.completion.chunk'));
  t.ok(tokenChunks.length >= 4, 'each token arrived in its own chunk');
  // Pacing as lower bounds only: a token can arrive late on a busy machine, never before its time
  // (ttft + i intervals after the request; 5 ms for timer rounding). Upper bounds would test the machine.
  for (let i = 0; i < 4; i++) {
    const due = 60 + i * 50;
    t.ok(tokenChunks[i].at - start >= due - 5, `token ${i} not before ${due} ms`);
  }
});

t.test('SSE stream: headers are flushed before the first token', async (t) => {
  // The first token is due in a minute: the headers (and nothing else) arriving at all shows the
  // simulator flushed them at once; the request is then abandoned.
  const sim = await startSim(t, { name: 'r-flush', ttftMs: 60_000, tokens: 1 });
  const req = httpRequest(`${sim.url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
  req.on('error', () => {});
  t.teardown(() => req.destroy());
  req.end(JSON.stringify({ ...CHAT, stream: true }));
  const res = await within('the stream headers', new Promise<IncomingMessage>((resolve) => req.once('response', resolve)));
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/event-stream');
  let body = '';
  res.on('data', (d: Buffer) => (body += d.toString()));
  await new Promise((r) => setImmediate(r));
  t.equal(body, '', 'no token yet');
});

t.test('models, embeddings, health and OpenAI-style errors', async (t) => {
  const sim = await startSim(t, { name: 'r2', models: ['llama-3.1-70b'] });
  const missing = await post(`${sim.url}/v1/chat/completions`, CHAT);
  t.equal(missing.statusCode, 404);
  t.match(await missing.body.json(), { error: { type: 'invalid_request_error', code: 'model_not_found' } });
  const bad = await post(`${sim.url}/v1/chat/completions`, '{not json');
  t.equal(bad.statusCode, 400);
  t.match(await bad.body.json(), { error: { type: 'invalid_request_error', message: String } });
  const models = await request(`${sim.url}/v1/models`, { dispatcher: agent });
  t.same(((await models.body.json()) as { data: { id: string }[] }).data.map((m) => m.id), ['llama-3.1-70b']);
  const emb = await post(`${sim.url}/v1/embeddings`, { model: 'llama-3.1-70b', input: ['a', 'b'] });
  const list = (await emb.body.json()) as { data: { index: number; embedding: number[] }[] };
  t.equal(list.data.length, 2);
  t.equal(list.data[1].embedding.length, EMBEDDING_DIMS);
  const again = (await (await post(`${sim.url}/v1/embeddings`, { model: 'llama-3.1-70b', input: 'a' })).body.json()) as typeof list;
  t.same(again.data[0].embedding, list.data[0].embedding, 'embeddings are deterministic');
  const health = await request(`${sim.url}/health`, { dispatcher: agent });
  t.equal(health.statusCode, 200);
  t.same(await health.body.json(), { status: 'ok', region: 'r2' });
});

t.test('echo of any other method and path; paced SSE echo', async (t) => {
  const sim = await startSim(t, { name: 'r3' });
  const res = await request(`${sim.url}/some/path%20x?a=1&b=two`, {
    method: 'PATCH',
    dispatcher: agent,
    headers: { 'x-custom': 'yes', 'content-type': 'text/plain' },
    body: 'héllo',
  });
  t.equal(res.statusCode, 200);
  t.match(await res.body.json(), {
    method: 'PATCH',
    path: '/some/path%20x',
    query: 'a=1&b=two',
    headers: { 'x-custom': 'yes' },
    body: 'héllo',
    region: 'r3',
  });
  const sse = await request(`${sim.url}/sse-echo?frames=3&interval=20`, { dispatcher: agent });
  t.equal(sse.headers['content-type'], 'text/event-stream');
  const got = frames(await sse.body.text());
  t.equal(got.length, 4);
  t.same(JSON.parse(got[2]), { frame: 2, region: 'r3' });
  t.equal(got[3], '[DONE]');
});

t.test('upgrade: 101 with Sec-WebSocket-Accept, then raw bytes echoed', async (t) => {
  const sim = await startSim(t, { name: 'r-ws' });
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const { socket, head } = await upgrade(sim.port, { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' });
  t.teardown(() => socket.destroy());
  t.match(head, /^HTTP\/1\.1 101 Switching Protocols/);
  t.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/, 'RFC 6455 sample accept value');
  t.equal(webSocketAccept(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.match(head, /x-sim-region: r-ws/);
  const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.write('ping-123');
  t.equal(await echoed, 'ping-123');
  t.equal(sim.stats.upgrades, 1);
});

t.test('fault down: connections refused, then back on the same port', async (t) => {
  const sim = await startSim(t, { name: 'r-down' });
  const port = sim.port;
  await sim.setFault({ mode: 'down' });
  t.equal(sim.listening, false);
  const err = await request(`${sim.url}/health`, { dispatcher: agent }).then(() => undefined, (e: Error) => e);
  t.match(err, { code: 'ECONNREFUSED' });
  await sim.setFault({ mode: 'none' });
  t.equal(sim.port, port);
  t.equal((await request(`${sim.url}/health`, { dispatcher: agent })).statusCode, 200);
});

t.test('fault error, ratelimit and slow', async (t) => {
  const sim = await startSim(t, { name: 'r-err' });
  await sim.setFault({ mode: 'error' });
  const e500 = await post(`${sim.url}/v1/chat/completions`, CHAT);
  t.equal(e500.statusCode, 500);
  t.match(await e500.body.json(), { error: { type: 'server_error' } });
  await sim.setFault({ mode: 'error', status: 503 });
  const health = await request(`${sim.url}/health`, { dispatcher: agent });
  t.equal(health.statusCode, 503, 'faults apply to /health');
  await health.body.dump();
  await sim.setFault({ mode: 'ratelimit', retryAfterSec: 3 });
  const limited = await post(`${sim.url}/v1/chat/completions`, CHAT);
  t.equal(limited.statusCode, 429);
  t.equal(limited.headers['retry-after'], '3');
  t.match(await limited.body.json(), { error: { code: 'rate_limit_exceeded' } });
  await sim.setFault({ mode: 'slow', delayMs: 120 });
  const start = performance.now();
  const slow = await post(`${sim.url}/v1/chat/completions`, CHAT);
  await slow.body.dump();
  t.ok(performance.now() - start >= 115, 'slow added its delay');
  t.equal(sim.stats.faulted, 4);
  await t.rejects(sim.setFault({ mode: 'error', status: 200 }), /status/);
});

t.test('fault hang: no answer until the client gives up', async (t) => {
  const sim = await startSim(t, { name: 'r-hang' });
  await sim.setFault({ mode: 'hang' });
  const err = await post(`${sim.url}/v1/chat/completions`, CHAT, AbortSignal.timeout(200)).then(() => undefined, (e: Error) => e);
  t.ok(err, 'the client aborted');
  t.equal(sim.stats.requests, 1, 'the request was read');
});

t.test('fault reset: before the response, mid-stream and mid-body', async (t) => {
  const sim = await startSim(t, { name: 'r-reset', tokens: 6, tokenIntervalMs: 10 });
  await sim.setFault({ mode: 'reset' });
  const err = await post(`${sim.url}/v1/chat/completions`, CHAT).then(() => undefined, (e: Error) => e);
  t.match(err, { code: /ECONNRESET|UND_ERR_SOCKET/ });
  await sim.setFault({ mode: 'reset', afterTokens: 2 });
  const res = await stream(`${sim.url}/v1/chat/completions`, { ...CHAT, stream: true });
  t.equal(res.status, 200);
  const got = frames(res.chunks.map((c) => c.text).join(''));
  t.equal(got.length, 2, 'two tokens arrived');
  t.notOk(got.includes('[DONE]'));
  t.ok(res.error, 'then the stream failed');
  const partial = await post(`${sim.url}/v1/chat/completions`, CHAT);
  t.equal(partial.statusCode, 200);
  await t.rejects(partial.body.text(), 'the body was cut');
});

t.test('fault upgrade: error answers, reset cuts, probability spares some requests', async (t) => {
  const rolls: number[] = [];
  const sim = await startSim(t, { name: 'r-upf', random: () => rolls.shift() ?? 0 });
  await sim.setFault({ mode: 'error', status: 502 });
  const { socket, head } = await upgrade(sim.port, { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'x' });
  socket.destroy();
  t.match(head, /^HTTP\/1\.1 502/);
  await sim.setFault({ mode: 'reset' });
  await t.rejects(upgrade(sim.port, { Upgrade: 'websocket', Connection: 'Upgrade' }));
  await sim.setFault({ mode: 'error', probability: 0.5 });
  rolls.push(0.1, 0.9);
  t.equal((await request(`${sim.url}/health`, { dispatcher: agent })).statusCode, 500, 'roll 0.1 < 0.5: faulted');
  t.equal((await request(`${sim.url}/health`, { dispatcher: agent })).statusCode, 200, 'roll 0.9: spared');
});

t.test('close() leaves nothing running: a child process exits by itself', async (t) => {
  // The child runs the built simulator with plain node (helpers/built.ts), not TypeScript through a loader.
  const index = pathToFileURL(built('sim/index.js')).href;
  // close() while a request hangs and a stream is mid-flight: each is waited for (the hung request
  // reached the simulator, the stream's first bytes reached the client), not given a fixed time.
  const script = `
    import { startSimFleet, DEMO_REGIONS } from ${JSON.stringify(index)};
    import { request } from 'node:http';
    const fleet = await startSimFleet(DEMO_REGIONS);
    const sim = fleet.simulators[0];
    await sim.setFault({ mode: 'hang' });
    const hung = request(sim.url + '/v1/chat/completions', { method: 'POST' });
    hung.on('error', () => {});
    hung.end('{}');
    await fleet.get('frankfurt').setFault({ mode: 'down' });
    const firstBytes = new Promise((resolve) => {
      const streamed = request(fleet.simulators[1].url + '/v1/chat/completions', { method: 'POST' }, (res) => res.once('data', resolve).on('error', () => {}));
      streamed.on('error', () => {});
      streamed.end(JSON.stringify({ model: 'llama-3.1-70b', stream: true }));
    });
    await firstBytes;
    while (sim.stats.requests < 1) await new Promise((r) => setImmediate(r));
    await fleet.close();
    console.log('closed');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await within('the child to exit by itself', new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c))));
  t.equal(code, 0, `the child exited by itself: ${out}`);
  t.match(out, /closed/);
});
