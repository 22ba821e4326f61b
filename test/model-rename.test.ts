/**
 * The answer renamers of `proxy/model-rename.ts`: an endpoint's own model id in a JSON answer's top-level
 * `model`, and in each SSE `data:` line, becomes the client's id whatever the chunk boundaries (every
 * split point is tried); nothing else changes.
 */
import t, { type Test } from 'tap';
import { JsonModelRenamer, SseModelRenamer, answerRenamer, type AnswerRenamer } from '../src/proxy/model-rename.js';

const OWN = 'meta.llama3-1-70b-instruct-v1:0';
const CLIENT = 'llama-3.1-70b';

/** Run `input` through a fresh renamer cut at `cuts` (byte offsets). */
function run(make: () => AnswerRenamer, input: string, cuts: number[]): string {
  const r = make();
  const bytes = Buffer.from(input);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(r.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(r.flush());
  return Buffer.concat(out).toString();
}

/** The renamed output is the same for every single split point and for byte-by-byte input. */
function everySplit(t: Test, make: () => AnswerRenamer, input: string, want: string): void {
  const n = Buffer.byteLength(input);
  let bad = 0;
  for (let i = 0; i <= n; i++) if (run(make, input, [i]) !== want) bad++;
  t.equal(bad, 0, 'every single split point gives the same answer');
  t.equal(run(make, input, Array.from({ length: n }, (_, i) => i)), want, 'byte by byte too');
}

t.test('a JSON answer: the top-level model is renamed, nested and other values are not', (t) => {
  const json = () => new JsonModelRenamer(OWN, CLIENT);
  const input = `{"id":"c1", "model" : "${OWN}","choices":[{"message":{"content":"\\"model\\":\\"${OWN}\\"","model":"${OWN}"}}],"x":"model","usage":{"model":"${OWN}"}}`;
  const want = input.replace(`"model" : "${OWN}"`, `"model" : "${CLIENT}"`);
  t.not(want, input);
  everySplit(t, json, input, want);
  t.same(JSON.parse(want).choices[0].message.model, OWN, 'a nested model is left alone');
  const other = `{"model":"${OWN}-x","id":"model"}`;
  everySplit(t, json, other, other);
  const notString = `{"model":null,"y":["model",1]}`;
  everySplit(t, json, notString, notString);
  t.end();
});

t.test('an SSE stream: each data line is renamed, an event split anywhere is intact', (t) => {
  const sse = () => new SseModelRenamer(OWN, CLIENT);
  const ev = (m: string, i: number) => `data: {"id":"c","model":"${m}","choices":[{"delta":{"content":"t${i}"}}]}`;
  const input = `: comment "model":"${OWN}"\r\n${ev(OWN, 1)}\n\n${ev(OWN, 2)}\r\n\r\nevent: x\ndata:{"model": "${OWN}"}\n\ndata: [DONE]\n\n`;
  const want = `: comment "model":"${OWN}"\r\n${ev(CLIENT, 1)}\n\n${ev(CLIENT, 2)}\r\n\r\nevent: x\ndata:{"model": "${CLIENT}"}\n\ndata: [DONE]\n\n`;
  everySplit(t, sse, input, want);
  t.end();
});

t.test('which answers are renamed: JSON and SSE without content-encoding, only when the names differ', (t) => {
  t.type(answerRenamer({ 'content-type': 'application/json; charset=utf-8' }, OWN, CLIENT), JsonModelRenamer);
  t.type(answerRenamer({ 'content-type': 'text/event-stream' }, OWN, CLIENT), SseModelRenamer);
  t.equal(answerRenamer({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, OWN, CLIENT), undefined);
  t.equal(answerRenamer({ 'content-type': 'text/plain' }, OWN, CLIENT), undefined);
  t.equal(answerRenamer({ 'content-type': 'application/json' }, CLIENT, CLIENT), undefined);
  t.end();
});
