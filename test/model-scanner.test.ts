/**
 * The JSON model scanner agrees with JSON.parse on every document (differential, over generated documents
 * and every chunk boundary), and each trap that let a body walk past data residency is caught.
 */
import t from 'tap';
import { MAX_JSON_DEPTH, ModelScanner } from '../src/proxy/model-scanner.js';
import { MODEL_MAX_BYTES, type ModelReading } from '../src/proxy/model-reading.js';

function scan(body: Buffer | string, chunks: number[] = []): ModelReading {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const s = new ModelScanner();
  let at = 0;
  for (const cut of chunks) {
    s.write(buf.subarray(at, cut));
    at = cut;
  }
  s.write(buf.subarray(at));
  return s.finish();
}

/** What an upstream using JSON.parse reads, in the scanner's terms. */
function expected(buf: Buffer): ModelReading['kind'] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch {
    return 'undetermined';
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'absent';
  const keys = Object.keys(doc);
  if (keys.some((k) => k !== 'model' && /^model$/i.test(k))) return 'undetermined';
  if (!keys.includes('model')) return 'absent';
  const model = (doc as { model: unknown }).model;
  if (typeof model !== 'string' || model.length === 0) return 'undetermined';
  if (/[\ud800-\udfff]/u.test(model) || Buffer.byteLength(model) > MODEL_MAX_BYTES) return 'undetermined';
  return `model:${model}`;
}

function kindOf(r: ModelReading): string {
  return r.kind === 'model' ? `model:${r.model}` : r.kind;
}

/** A small seeded PRNG (mulberry32), so a failure names a reproducible document. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['model', 'model', 'model', 'model', 'mod\\u0065l', '\\u006Dodel', 'model ', 'models', 'mode', 'a', 'messages', 'tools', '\\"model\\"', 'm\\u00f6del', 'b'];
/** Keys an upstream might match without case: rarer, or few documents would name a model. */
const CASE_KEYS = ['Model', 'MODEL', 'mod\\u0065L'];
const STRINGS = ['gpt-4o-mini', 'M', 'caf\\u00e9', 'café', '日本語', 'x\\ud83d\\ude00', '😀', '', '\\ud800', '\\udc00x', 'a\\nb', '\\"', '\\\\', '\\/', 'model', '\\u0000'];
const NUMBERS = ['0', '-0', '1.5', '-12e+3', '1E-2', '123456789012345678901234567890', '0.000', '7e0'];
const SPACES = ['', '', ' ', '\n', '\t', '\r\n  '];

function generate(r: () => number, depth: number, top: boolean): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const ws = () => pick(SPACES);
  const kind = top ? (r() < 0.9 ? 5 : Math.floor(r() * 6)) : Math.floor(r() * (depth > 4 ? 4 : 6));
  switch (kind) {
    case 0:
      return `"${pick(STRINGS)}"`;
    case 1:
      return pick(NUMBERS);
    case 2:
      return pick(['true', 'false', 'null']);
    case 3:
      return `"${pick(STRINGS)}${pick(STRINGS)}"`;
    case 4: {
      const items = Array.from({ length: Math.floor(r() * 4) }, () => ws() + generate(r, depth + 1, false) + ws());
      return `[${items.join(',')}${items.length === 0 ? ws() : ''}]`;
    }
    default: {
      const pairs = Array.from({ length: Math.floor(r() * 5) }, () => {
        const key = r() < 0.04 ? pick(CASE_KEYS) : pick(KEYS);
        const value = key.startsWith('mod') && r() < 0.7 ? `"${pick(STRINGS)}"` : generate(r, depth + 1, false);
        return `${ws()}"${key}"${ws()}:${ws()}${value}${ws()}`;
      });
      return `{${pairs.join(',')}${pairs.length === 0 ? ws() : ''}}`;
    }
  }
}

function mutate(r: () => number, text: string): string {
  const at = Math.floor(r() * (text.length + 1));
  const op = r();
  if (op < 0.35) return text.slice(0, at) + text.slice(at + 1);
  if (op < 0.7) return text.slice(0, at) + '{}[]",:\\ 0e-.tn\u0001é'[Math.floor(r() * 19)] + text.slice(at);
  return text.slice(0, at);
}

t.test('agrees with JSON.parse on generated documents, in one chunk and in random chunks', async (t) => {
  const r = prng(8);
  let models = 0;
  let invalid = 0;
  for (let n = 0; n < 6000; n++) {
    let text = SPACES[n % SPACES.length] + generate(r, 0, true) + SPACES[(n >> 3) % SPACES.length];
    if (r() < 0.3) text = mutate(r, text);
    const buf = Buffer.from(text);
    const want = expected(buf);
    if (want.startsWith('model:')) models++;
    if (want === 'undetermined') invalid++;
    const whole = kindOf(scan(buf));
    if (whole !== want) t.fail(`document ${JSON.stringify(text)}: scanner ${whole}, JSON.parse ${want}`);
    const cuts = [Math.floor(r() * buf.length), Math.floor(r() * buf.length), Math.floor(r() * buf.length)].sort((a, b) => a - b);
    const split = kindOf(scan(buf, cuts));
    if (split !== want) t.fail(`document ${JSON.stringify(text)} cut at ${cuts}: scanner ${split}, JSON.parse ${want}`);
  }
  t.ok(models > 1000 && invalid > 500, `the documents cover models (${models}) and invalid ones (${invalid})`);
});

t.test('a chunk boundary at every position of tricky documents changes nothing', async (t) => {
  const docs = [
    '{"model":"gpt-4o-mini","model":"M"}',
    '{"mod\\u0065l":"caf\\u00e9 \\ud83d\\ude00 日本 😀"}',
    ' {"a":[1,-2.5e+10,{"model":"nested"},true,false,null],"model" : "top" } ',
    '{"model":"x\\ud800"}',
    '{"model":-0.0e-0}',
    '{"Model":"M","model":"gpt-4o-mini"}',
  ];
  for (const doc of docs) {
    const buf = Buffer.from(doc);
    const want = expected(buf);
    for (let cut = 0; cut <= buf.length; cut++) t.equal(kindOf(scan(buf, [cut])), want, `${doc} cut at ${cut}`);
    const bytes = Array.from({ length: buf.length }, (_, i) => i);
    t.equal(kindOf(scan(buf, bytes)), want, `${doc} byte by byte`);
  }
});

t.test('traps that walked past data residency', async (t) => {
  t.same(scan('{"model":"gpt-4o-mini","model":"M"}'), { kind: 'model', model: 'M' }, 'duplicate keys: the last wins, as upstream parsers read it');
  t.same(scan('{"mod\\u0065l":"M"}'), { kind: 'model', model: 'M' }, 'an escaped key is the model key');
  t.same(scan('{"model":"\\u004d"}'), { kind: 'model', model: 'M' }, 'an escaped value is decoded');
  t.same(scan('{"model":"\\ud83d\\ude00"}'), { kind: 'model', model: '😀' }, 'a surrogate pair is one character');
  t.equal(scan('{"model":"M\\ud800"}').kind, 'undetermined', 'a lone surrogate');
  t.equal(scan('{"model":"gpt-4o-mini","MODEL":"M"}').kind, 'undetermined', 'a key equal to model without case (Go matches it)');
  t.equal(scan('{"model":["M"]}').kind, 'undetermined', 'a non-string model');
  t.equal(scan('{"model":null}').kind, 'undetermined', 'a null model');
  t.equal(scan('{"model":""}').kind, 'undetermined', 'an empty model');
  t.equal(scan('\ufeff{"model":"M"}').kind, 'undetermined', 'a byte order mark');
  t.equal(scan('{"model":"M"').kind, 'undetermined', 'truncated');
  t.equal(scan('{"model":"M"}{"model":"N"}').kind, 'undetermined', 'two documents');
  t.equal(scan('{"model":"M",}').kind, 'undetermined', 'a trailing comma');
  t.equal(scan('{"model":"M","x":NaN}').kind, 'undetermined', 'NaN (Python accepts it, JSON.parse does not)');
  t.equal(scan('{"model":"M\u0001"}').kind, 'undetermined', 'a raw control character');
  t.equal(scan(Buffer.from([0x7b, 0x22, 0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x22, 0x3a, 0x22, 0xc0, 0xad, 0x22, 0x7d])).kind, 'undetermined', 'an overlong UTF-8 form');
  t.equal(scan(Buffer.from('{"model":"M\xed\xa0\x80"}', 'latin1')).kind, 'undetermined', 'an encoded surrogate');
  t.equal(scan(`{"model":"${'m'.repeat(MODEL_MAX_BYTES + 1)}"}`).kind, 'undetermined', 'a model past the cap');
  t.same(scan(`{"model":"${'m'.repeat(MODEL_MAX_BYTES + 1)}","model":"M"}`), { kind: 'model', model: 'M' }, 'a later model replaces a too-long one');
  t.same(scan('{"tools":[{"model":"nested"}],"model":"top"}'), { kind: 'model', model: 'top' }, 'only top-level keys count');
  t.same(scan('{"messages":[{"content":"\\"model\\": \\"evil\\""}]}'), { kind: 'absent' }, 'a quoted model in content is not a key');
  t.same(scan('[{"model":"M"}]'), { kind: 'absent' }, 'a top-level array names no model');
  t.same(scan('42'), { kind: 'absent' }, 'a bare number');
  t.equal(scan('').kind, 'undetermined', 'nothing to read');
});

t.test('nesting is tracked without recursion and capped', async (t) => {
  const ok = '['.repeat(MAX_JSON_DEPTH - 1) + ']'.repeat(MAX_JSON_DEPTH - 1);
  t.same(scan(`{"a":${ok},"model":"M"}`), { kind: 'model', model: 'M' }, 'at the cap');
  const deep = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
  t.match(scan(`{"model":"M","a":${deep}}`), { kind: 'undetermined', reason: /nesting deeper/ }, 'past the cap');
  const huge = Buffer.from('{"model":"M","a":' + '{"b":['.repeat(200_000));
  t.equal(scan(huge).kind, 'undetermined', 'a deep document fails without overflowing the stack');
});

t.test('stream: the top-level `stream` an upstream reads, in the same pass as the model', async (t) => {
  const streamOf = (text: string): boolean => {
    const s = new ModelScanner();
    for (const b of Buffer.from(text)) s.write(Buffer.from([b])); // byte by byte: every cut
    s.finish();
    return s.stream;
  };
  t.equal(streamOf('{"model":"m","stream":true}'), true);
  t.equal(streamOf('{"stream":false,"model":"m"}'), false);
  t.equal(streamOf('{"model":"m"}'), false, 'absent');
  t.equal(streamOf('{"stream":true,"stream":false}'), false, 'the last duplicate wins');
  t.equal(streamOf('{"stream":false,"stream":true}'), true);
  t.equal(streamOf('{"str\\u0065am":true}'), true, 'an escaped key is the same key');
  t.equal(streamOf('{"options":{"stream":true}}'), false, 'a nested stream is not the request\'s');
  t.equal(streamOf('{"messages":[{"content":"\\"stream\\": true"}]}'), false, 'text in a string is not a key');
  t.equal(streamOf('{"stream":"true"}'), false, 'a string is not true');
  t.equal(streamOf('{"Stream":true}'), false, 'keys are exact');
  t.equal(streamOf('{"stream":true'), false, 'a truncated body says nothing');
});
