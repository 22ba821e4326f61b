/**
 * The model of a body whatever its content type: JSON read by the bytes, forms (urlencoded, multipart),
 * encodings and charsets an upstream could decode into another model, and chunk boundaries anywhere.
 */
import t from 'tap';
import { BodyModelReader, readBodyModel } from '../src/proxy/body-model-reader.js';
import type { ModelReading } from '../src/proxy/model-reading.js';

const read = (type: string | undefined, body: string, extra: Record<string, string> = {}): ModelReading =>
  readBodyModel(type === undefined ? extra : { 'content-type': type, ...extra }, Buffer.from(body, 'latin1'));
const kind = (r: ModelReading): string => (r.kind === 'model' ? `model:${r.model}` : r.kind);

/** Read `body` cut into two chunks at `cut`. */
function readCut(headers: Record<string, string>, body: Buffer, cut: number): string {
  const reader = new BodyModelReader(headers);
  reader.write(body.subarray(0, cut));
  reader.write(body.subarray(cut));
  return kind(reader.finish());
}

function multipart(boundary: string, parts: { headers: string[]; body: string }[]): string {
  return parts.map((p) => `--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.body}\r\n`).join('') + `--${boundary}--\r\n`;
}
const field = (name: string, value: string, extra: string[] = []) => ({ headers: [`Content-Disposition: form-data; name="${name}"`, ...extra], body: value });
const MP = 'multipart/form-data; boundary=----rg7MA4YWxkTrZu0gW';
const B = '----rg7MA4YWxkTrZu0gW';

t.test('a JSON body is read whatever the content type says', async (t) => {
  for (const type of ['application/json', 'text/plain', undefined, 'application/octet-stream', 'application/json; charset=utf-8'])
    t.equal(kind(read(type, '{"model":"M"}')), 'model:M', `content-type ${type}`);
  t.equal(kind(read('text/plain', 'hello')), 'undetermined', 'a body that is no JSON and no form');
  t.equal(kind(read('application/json', '')), 'absent', 'an empty body has no model');
});

t.test('encodings and charsets an upstream could decode into another model', async (t) => {
  t.equal(kind(read('application/json', '{"model":"M"}', { 'content-encoding': 'gzip' })), 'undetermined', 'gzip');
  t.equal(kind(read('application/json', '{"model":"M"}', { 'content-encoding': 'identity' })), 'model:M', 'identity');
  t.equal(kind(read('application/json; charset=utf-7', '{"+AG0-odel":"M"}')), 'undetermined', 'UTF-7 can hide the key');
  t.equal(kind(read('application/json; charset=utf-16', '{"model":"M"}')), 'undetermined', 'UTF-16');
  t.equal(kind(read('application/json; charset="UTF-8"', '{"model":"M"}')), 'model:M', 'quoted UTF-8');
  t.equal(kind(read('application/json; charset=a\\b', '{"model":"M"}')), 'undetermined', 'unreadable parameters');
});

t.test('urlencoded forms', async (t) => {
  const F = 'application/x-www-form-urlencoded';
  t.equal(kind(read(F, 'model=whisper-1&language=en')), 'model:whisper-1');
  t.equal(kind(read(F, 'mod%65l=M')), 'model:M', 'an escaped key');
  t.equal(kind(read(F, 'model=a+b%2Fc')), 'model:a b/c', 'plus and escapes in the value');
  t.equal(kind(read(F, 'model=%E6%97%A5')), 'model:日', 'UTF-8 escapes');
  t.equal(kind(read(F, 'x=1&model=%zz')), 'model:%zz', 'an invalid escape stands for itself');
  t.equal(kind(read(F, 'language=en')), 'absent');
  t.equal(kind(read(F, 'model=a&model=M')), 'undetermined', 'duplicate model fields');
  t.equal(kind(read(F, 'model=a;model=M')), 'undetermined', 'a second field after ; (python-multipart splits there)');
  t.equal(kind(read(F, 'model[]=M')), 'undetermined', 'qs reads model[] as an array');
  t.equal(kind(read(F, 'model=')), 'undetermined', 'empty');
  t.equal(kind(read(F, 'model=%C0%AD')), 'undetermined', 'not UTF-8');
  t.equal(kind(read(F, '{"model":"x","y":"&model=M"}')), 'undetermined', 'JSON and form readings disagree');
});

t.test('multipart forms', async (t) => {
  const body = multipart(B, [field('file', 'RIFF....WAVE'), field('model', 'whisper-1'), field('language', 'en')]);
  t.equal(kind(read(MP, body)), 'model:whisper-1');
  t.equal(kind(read(`multipart/form-data; boundary="${B}"`, body)), 'model:whisper-1', 'a quoted boundary');
  t.equal(kind(read(MP, multipart(B, [field('language', 'en')]))), 'absent');
  t.equal(kind(read(MP, multipart(B, [field('model', 'a'), field('model', 'M')]))), 'undetermined', 'duplicate model fields');
  t.equal(kind(read(MP, multipart(B, [{ headers: ['Content-Disposition: form-data; name="model"; filename="m.txt"'], body: 'M' }]))), 'undetermined', 'model as a file');
  t.equal(kind(read(MP, multipart(B, [{ headers: ["Content-Disposition: form-data; name*=utf-8''model"], body: 'M' }]))), 'undetermined', 'an RFC 2231 name');
  t.equal(kind(read(MP, multipart(B, [{ headers: ['Content-Disposition: form-data; name="mo\\del"'], body: 'M' }]))), 'undetermined', 'a quoted-pair in the name');
  t.equal(kind(read(MP, multipart(B, [field('model', 'TQ==', ['Content-Transfer-Encoding: base64'])]))), 'undetermined', 'base64');
  t.equal(kind(read(MP, multipart(B, [field('model', 'M', ['Content-Type: text/plain; charset=utf-7'])]))), 'undetermined', 'a UTF-7 part');
  t.equal(kind(read(MP, multipart(B, [field('model', 'M', ['Content-Type: text/plain; charset=utf-8'])]))), 'model:M', 'a UTF-8 part');
  t.equal(kind(read(MP, multipart(B, [{ headers: ['Content-Disposition: form-data; name="model"', ' folded'], body: 'M' }]))), 'undetermined', 'a folded header');
  t.equal(kind(read(MP, 'preamble\r\n' + body)), 'undetermined', 'a preamble');
  t.equal(kind(read(MP, body.slice(0, -10))), 'undetermined', 'truncated');
  t.equal(kind(read('multipart/form-data', body)), 'undetermined', 'no boundary');
  t.equal(kind(read(MP, multipart(B, [field('model', 'x'.repeat(2000))]))), 'undetermined', 'a model past the cap');
  t.equal(kind(read(MP, multipart(B, [field('model', '')]))), 'undetermined', 'empty');
  t.equal(kind(read(MP, multipart(B, [field('file', `a\r\n--${B}x`)]))), 'undetermined', 'a delimiter followed by junk');
});

t.test('a chunk boundary at every position of a multipart body changes nothing', async (t) => {
  const body = Buffer.from(multipart(B, [field('file', `\r\n--${B.slice(0, 10)}\r\n`), field('model', 'whisper-1'), field('x', '')]));
  for (let cut = 0; cut <= body.length; cut++) t.equal(readCut({ 'content-type': MP }, body, cut), 'model:whisper-1', `cut at ${cut}`);
  const reader = new BodyModelReader({ 'content-type': MP });
  for (let i = 0; i < body.length; i++) reader.write(body.subarray(i, i + 1));
  t.equal(kind(reader.finish()), 'model:whisper-1', 'byte by byte');
  const form = Buffer.from('a=%41&model=wh%69sper+1&b=2');
  for (let cut = 0; cut <= form.length; cut++)
    t.equal(readCut({ 'content-type': 'application/x-www-form-urlencoded' }, form, cut), 'model:whisper 1', `urlencoded cut at ${cut}`);
});
