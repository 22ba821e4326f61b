/**
 * One model, many names, through a real gateway: two regions serve `llama-3.1-70b`, each under its own
 * id (`models` as a map). Each upstream sees its own id in the body; the client sees the id it asked for in
 * a JSON answer and in an SSE stream whose events are split across TCP writes; a retry on the other region
 * renames for that region; `/v1/models` lists client ids; residency rules name the client id; a form body
 * for a renamed model is refused before any upstream sees it.
 */
import t from 'tap';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { resolveConfig } from '../src/config/index.js';
import { startGateway, startUpstream, type Teardown } from './helpers/gateway.js';

const CLIENT = 'llama-3.1-70b';
const EAST = 'meta.llama3-1-70b-instruct-v1:0';
const WEST = 'llama3-70b-west-deployment';

interface Seen {
  path: string;
  body: string;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** How an upstream answers: its own id in the answer, as JSON, as SSE split across writes, or a 503. */
type Mode = 'json' | 'sse' | 'fail';

/** A region's upstream answering in `mode()` with its own model id, recording what it got. */
async function region(t: Teardown, own: string, mode: () => Mode): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const { url } = await startUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/health') return void res.writeHead(200).end('ok');
      seen.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString() });
      if (req.url?.startsWith('/v1/models/')) {
        const body = JSON.stringify({ id: own, object: 'model', deleted: true });
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
      }
      const m = mode();
      if (m === 'fail') return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"busy"}}');
      if (m === 'json') {
        const body = JSON.stringify({ id: 'c1', object: 'chat.completion', model: own, choices: [{ message: { content: `I am "model":"${own}"` } }] });
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
      }
      // SSE: every event is cut inside its model value, and each piece is its own write once the last is flushed.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = [0, 1, 2].map((i) => `data: {"id":"c1","model":"${own}","choices":[{"delta":{"content":"t${i}"}}]}\n\n`);
      const pieces = events.flatMap((e) => {
        const cut = e.indexOf(own) + 5;
        return [e.slice(0, cut), e.slice(cut)];
      });
      pieces.push('data: [DONE]\n\n');
      const next = (i: number): void => {
        if (i === pieces.length) return void res.end();
        res.write(pieces[i], () => setImmediate(next, i + 1));
      };
      next(0);
    });
  });
  return { url, seen };
}

function send(url: string, path: string, body: string | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
    const req = httpRequest(`${url}${path}`, { method: body === undefined ? 'GET' : method, headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function twoRegions(t: Teardown, east: () => Mode, west: () => Mode, overrides = {}) {
  const e = await region(t, EAST, east);
  const w = await region(t, WEST, west);
  const gw = await startGateway(
    t,
    [
      { name: 'east', url: e.url, priority: 0, models: { [CLIENT]: EAST, 'gpt-4o': 'gpt-4o' } },
      { name: 'west', url: w.url, priority: 1, models: { [CLIENT]: WEST } },
    ],
    overrides,
  );
  return { gw, east: e, west: w };
}

// Bytes a re-serialisation would change: a number past 2^53, key order, spacing, a nested "model".
const REQUEST = `{ "seed": 12345678901234567890, "model" : "${CLIENT}", "messages": [{"role":"user","content":"hi","model":"${CLIENT}"}] }`;

t.test('the upstream sees its own id in the body; the client sees its own in a JSON answer', async (t) => {
  const { gw, east } = await twoRegions(t, () => 'json', () => 'json');
  const a = await send(gw.url, '/v1/chat/completions', REQUEST);
  t.equal(a.status, 200);
  t.equal(east.seen.length, 1);
  t.equal(east.seen[0].body, REQUEST.replace(`"model" : "${CLIENT}"`, `"model" : "${EAST}"`), 'only the top-level model bytes changed');
  const answer = JSON.parse(a.body) as { model: string; choices: { message: { content: string } }[] };
  t.equal(answer.model, CLIENT, 'the answer names the client id');
  t.equal(answer.choices[0].message.content, `I am "model":"${EAST}"`, 'text that only looks like the member is untouched');
  t.equal(a.headers['content-length'], undefined, 'the renamed answer is not sent with the endpoint length');
  // A model the map does not rename is forwarded byte for byte, its answer untouched (with its length).
  const plain = `{"model":"gpt-4o","messages":[]}`;
  const b = await send(gw.url, '/v1/chat/completions', plain);
  t.equal(east.seen[1].body, plain);
  t.equal(JSON.parse(b.body).model, EAST, 'an answer for an unrenamed model is relayed as is');
  t.equal(b.headers['content-length'], String(Buffer.byteLength(b.body)));
  // The model the gateway read is the one replaced: escaped in the body, after a duplicate key (the last wins).
  const dup = `{"model":"gpt-4o","n":1,"model":"llama\\u002d3.1-70b"}`;
  const c = await send(gw.url, '/v1/chat/completions', dup);
  t.equal(c.status, 200);
  t.equal(east.seen[2].body, `{"model":"gpt-4o","n":1,"model":"${EAST}"}`);
});

t.test('an SSE answer with events split across writes names the client id in every event', async (t) => {
  const { gw, east } = await twoRegions(t, () => 'sse', () => 'sse');
  const a = await send(gw.url, '/v1/chat/completions', `{"model":"${CLIENT}","stream":true}`);
  t.equal(a.status, 200);
  t.equal(JSON.parse(east.seen[0].body).model, EAST);
  const data = a.body.split('\n').filter((l) => l.startsWith('data: {'));
  t.equal(data.length, 3, 'every event arrived');
  t.same(data.map((l) => JSON.parse(l.slice(6)).model), [CLIENT, CLIENT, CLIENT]);
  t.same(data.map((l) => JSON.parse(l.slice(6)).choices[0].delta.content), ['t0', 't1', 't2']);
  t.ok(a.body.endsWith('data: [DONE]\n\n'));
});

t.test('a retry on the other region sends that region its own id and renames its answer', async (t) => {
  const { gw, east, west } = await twoRegions(t, () => 'fail', () => 'json');
  const a = await send(gw.url, '/v1/chat/completions', REQUEST);
  t.equal(a.status, 200);
  t.equal(a.headers['x-regiongate-region'], 'west');
  t.equal(a.headers['x-regiongate-attempts'], '2');
  t.equal(JSON.parse(east.seen[0].body).model, EAST, 'east got its id');
  t.equal(west.seen[0].body, REQUEST.replace(`"model" : "${CLIENT}"`, `"model" : "${WEST}"`), 'west got its own, not east\'s');
  t.equal(JSON.parse(a.body).model, CLIENT);
});

t.test('/v1/models lists client ids; /v1/models/{id} knows them', async (t) => {
  const { gw, east, west } = await twoRegions(t, () => 'json', () => 'json');
  const list = await send(gw.url, '/v1/models', undefined);
  t.same((JSON.parse(list.body) as { data: { id: string }[] }).data.map((m) => m.id), ['gpt-4o', CLIENT]);
  const one = await send(gw.url, `/v1/models/${CLIENT}`, undefined);
  t.equal(one.status, 200);
  t.equal(JSON.parse(one.body).id, CLIENT);
  const own = await send(gw.url, `/v1/models/${encodeURIComponent(EAST)}`, undefined);
  t.equal(own.status, 404, "an endpoint's own id is not a client id");
  t.equal(east.seen.length + west.seen.length, 0, 'answered by the gateway');
});

t.test('DELETE /v1/models/{id} reaches the endpoint under its own id, and the answer names the client id', async (t) => {
  const { gw, east } = await twoRegions(t, () => 'json', () => 'json');
  const a = await send(gw.url, `/v1/models/${CLIENT}?x=1`, '', {}, 'DELETE');
  t.equal(a.status, 200);
  t.equal(east.seen[0].path, `/v1/models/${EAST}?x=1`, 'the path names the endpoint id (":" kept as is), the query kept');
  t.same(JSON.parse(a.body), { id: CLIENT, object: 'model', deleted: true });
});

t.test('a WebSocket upgrade reaches the endpoint with its own id in ?model=, the rest of the query as sent', async (t) => {
  const seen: string[] = [];
  const up = await startUpstream(t, (_req, res) => res.writeHead(200).end('ok'));
  up.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push(req.url ?? '');
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  const gw = await startGateway(t, [{ name: 'east', url: up.url, models: { [CLIENT]: EAST } }]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/v1/realtime?a=1&model=${CLIENT}&b=%20x`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 101);
  t.same(seen, [`/v1/realtime?a=1&model=${encodeURIComponent(EAST)}&b=%20x`]);
});

t.test('residency rules apply to the client id, and the allowed region gets its own name', async (t) => {
  const { gw, east, west } = await twoRegions(t, () => 'json', () => 'json', { routing: { rules: [{ model: CLIENT, regions: ['west'] }] } });
  const a = await send(gw.url, '/v1/chat/completions', REQUEST);
  t.equal(a.status, 200);
  t.equal(a.headers['x-regiongate-region'], 'west');
  t.equal(JSON.parse(west.seen[0].body).model, WEST);
  t.equal(JSON.parse(a.body).model, CLIENT);
  t.equal(east.seen.length, 0);
});

t.test('a form body for a renamed model is refused, not forwarded under the wrong name', async (t) => {
  const { gw, east, west } = await twoRegions(t, () => 'json', () => 'json');
  const form = `model=${CLIENT}&purpose=x`;
  const a = await send(gw.url, '/v1/audio/transcriptions', form, { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(a.status, 415);
  t.equal(a.headers['x-regiongate-error'], 'RG_ERR_MODEL_RENAME_UNSUPPORTED');
  t.match(JSON.parse(a.body).error.message, CLIENT);
  const b = await send(gw.url, '/v1/audio/transcriptions', 'model=gpt-4o', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(b.status, 200, 'a model nobody renames goes through as a form');
  t.equal(east.seen.length, 1);
  t.equal(west.seen.length, 0);
});

t.test('a bad models map is a config error naming the entry', async (t) => {
  const issues = (models: unknown): readonly string[] => {
    try {
      resolveConfig({ regions: [{ name: 'r', endpoints: [{ url: 'http://127.0.0.1:1', models }] }] }, {});
      return [];
    } catch (err) {
      return (err as { issues: readonly string[] }).issues;
    }
  };
  t.match(issues({ [CLIENT]: 3 }), [/^regions\[0\]\.endpoints\[0\]\.models\.llama-3\.1-70b: must be the endpoint's own id/]);
  t.match(issues({ '*': 'x' }), [/models\.\*: "\*" cannot be renamed/]);
  t.match(issues({}), [/models: must name at least one model/]);
  t.match(issues('llama'), [/models: must be a list of model names, or a map/]);
  t.same(issues({ [CLIENT]: EAST }), []);
  t.same(issues(['*', 'x']), []);
});
