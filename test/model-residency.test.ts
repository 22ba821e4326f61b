/**
 * Data residency through a real gateway: two real upstream regions, `us` preferred (priority 0) and `eu`,
 * and a rule that allows model M only in `eu`. Every body shape that walked past the rule on the old
 * model reading is routed to `eu` or refused with RG_ERR_MODEL_UNDETERMINED before any upstream sees it.
 */
import t from 'tap';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { startGateway, startUpstream, type Teardown } from './helpers/gateway.js';

interface Answer {
  status: number;
  region: string | undefined;
  code: string | undefined;
}

/** A region whose upstream answers every request with its name, recording the bodies it got. */
async function region(t: Teardown, name: string): Promise<{ url: string; got: string[] }> {
  const got: string[] = [];
  const { url } = await startUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/health') got.push(Buffer.concat(chunks).toString('latin1'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ region: name }));
    });
  });
  return { url, got };
}

/** Send `chunks` as the body (chunked transfer encoding unless a content-length header is given). */
function send(url: string, headers: Record<string, string>, chunks: (string | Buffer)[], method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/chat/completions`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const code = res.headers['x-regiongate-error'];
        resolve({
          status: res.statusCode ?? 0,
          region: res.statusCode === 200 ? (JSON.parse(body) as { region: string }).region : undefined,
          code: typeof code === 'string' ? code : undefined,
        });
      });
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const sized = (type: string | undefined, body: string | Buffer): [Record<string, string>, (string | Buffer)[]] => [
  { ...(type === undefined ? {} : { 'content-type': type }), 'content-length': String(Buffer.byteLength(body)) },
  [body],
];

async function residencyGateway(t: Teardown, rules: { model?: string; regions: string[] }[]) {
  const us = await region(t, 'us');
  const eu = await region(t, 'eu');
  const gw = await startGateway(t, [{ name: 'us', url: us.url, priority: 0 }, { name: 'eu', url: eu.url, priority: 1 }], { routing: { rules } });
  return { us, eu, gw };
}

t.test('bodies that walked past a model rule are routed to its region', async (t) => {
  const { us, eu, gw } = await residencyGateway(t, [{ model: 'M', regions: ['eu'] }]);
  const cases: [string, Record<string, string>, (string | Buffer)[]][] = [
    ['a duplicate key (upstream parsers take the last)', ...sized('application/json', '{"model":"gpt-4o-mini","model":"M"}')],
    ['an escaped key', ...sized('application/json', '{"mod\\u0065l":"M"}')],
    ['an escaped value', ...sized('application/json', '{"model":"\\u004d"}')],
    ['text/plain', ...sized('text/plain', '{"model":"M"}')],
    ['no content type', ...sized(undefined, '{"model":"M"}')],
    ['chunked, no content type, cut inside the key', {}, ['{"mo', 'del":"', 'M"}']],
    ['chunked JSON with a duplicate key', { 'content-type': 'application/json' }, ['{"model":"gpt-4o-mini",', '"model":"M"}']],
    ['a multipart form', ...sized('multipart/form-data; boundary=b0', '--b0\r\nContent-Disposition: form-data; name="model"\r\n\r\nM\r\n--b0--\r\n')],
    ['an urlencoded form', ...sized('application/x-www-form-urlencoded', 'language=en&model=M')],
  ];
  for (const [name, headers, chunks] of cases) {
    const before = us.got.length;
    const a = await send(gw.url, headers, chunks);
    t.same(a, { status: 200, region: 'eu', code: undefined }, name);
    t.equal(us.got.length, before, `${name}: us never saw it`);
  }
  t.same(await send(gw.url, ...sized('application/json', '{"model":"gpt-4o-mini"}')), { status: 200, region: 'us', code: undefined }, 'another model still prefers us');
  t.same(await send(gw.url, {}, [], 'GET'), { status: 200, region: 'us', code: undefined }, 'no body, no model: any region');
  t.equal(eu.got.length, cases.length, 'eu got each rule-bound request once');
});

t.test('a model the gateway cannot determine is refused when rules name models', async (t) => {
  const { us, eu, gw } = await residencyGateway(t, [{ model: 'M', regions: ['eu'] }]);
  const refused: [string, Record<string, string>, (string | Buffer)[]][] = [
    ['a key equal to model without case', ...sized('application/json', '{"model":"gpt-4o-mini","MODEL":"M"}')],
    ['malformed JSON', ...sized('application/json', '{"model":"M"')],
    ['a non-string model', ...sized('application/json', '{"model":["M"]}')],
    ['a byte order mark', ...sized('application/json', Buffer.from('\ufeff{"model":"M"}'))],
    ['gzip', { ...sized('application/json', 'x')[0], 'content-encoding': 'gzip' }, ['x']],
    ['a UTF-7 charset', ...sized('application/json; charset=utf-7', '{"+AG0-odel":"M"}')],
    ['duplicate form fields', ...sized('application/x-www-form-urlencoded', 'model=gpt-4o-mini&model=M')],
    ['a chunked body that is no JSON', { 'content-type': 'text/plain' }, ['model', '=M']],
  ];
  for (const [name, headers, chunks] of refused)
    t.same(await send(gw.url, headers, chunks), { status: 400, region: undefined, code: 'RG_ERR_MODEL_UNDETERMINED' }, name);
  t.equal(us.got.length + eu.got.length, 0, 'no upstream was contacted');
});

t.test('without rules that name models, an undetermined model goes to any endpoint as before', async (t) => {
  const { us, gw } = await residencyGateway(t, [{ regions: ['us', 'eu'] }]);
  t.same(await send(gw.url, ...sized('application/json', '{"model":"M"')), { status: 200, region: 'us', code: undefined }, 'malformed JSON is the upstream\'s to judge');
  t.equal(us.got[0], '{"model":"M"', 'forwarded untouched');
});

t.test('/healthz answers while several multi-MB deeply nested bodies are being read', async (t) => {
  const { eu, gw } = await residencyGateway(t, [{ model: 'M', regions: ['eu'] }]);
  // 5 MiB of nesting 100 deep, with a nested "model" first: the old reader fell back to JSON.parse on it.
  const unit = '['.repeat(100) + ']'.repeat(100) + ',';
  const body = Buffer.from(`{"a":[{"model":"x"},${unit.repeat(Math.ceil((5 << 20) / unit.length))}0],"model":"M"}`);
  const half = body.length >> 1;
  const order: string[] = [];
  const reqs = Array.from({ length: 4 }, (_, k) => {
    let release!: () => void;
    const second = new Promise<void>((resolve) => (release = resolve));
    const done = new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          order.push(`body ${k}`);
          resolve({ status: res.statusCode ?? 0, region: (JSON.parse(text) as { region?: string }).region, code: undefined });
        });
      });
      req.on('error', reject);
      const sent = new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
      void Promise.all([sent, second]).then(() => req.end(body.subarray(half)));
    });
    return { release, done };
  });
  // Probe once the first halves are on their way, then send the rest while the gateway reads them.
  const probe = new Promise<number>((resolve, reject) => {
    httpRequest(`${gw.url}/healthz`, (res) => {
      res.resume();
      res.on('end', () => {
        order.push('healthz');
        resolve(res.statusCode ?? 0);
      });
    })
      .on('error', reject)
      .end();
  });
  for (const r of reqs) r.release();
  const probeAgain = new Promise<number>((resolve, reject) => {
    httpRequest(`${gw.url}/healthz`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
  t.equal(await probe, 200);
  t.equal(await probeAgain, 200, 'a probe sent while the second halves stream also answers');
  const answers = await Promise.all(reqs.map((r) => r.done));
  t.same(answers.map((a) => a.region), ['eu', 'eu', 'eu', 'eu'], 'each nested body was read to its top-level model');
  t.equal(order[0], 'healthz', 'the probe answered before any of the big bodies');
  t.equal(eu.got.length, 4);
});
