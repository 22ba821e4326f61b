/**
 * The cost of reading a request's model: the incremental `BodyModelReader` (what the gateway runs, fed
 * 64 KiB chunks as a socket delivers them) against `JSON.parse` of the whole body (what the old reader fell
 * back to), in MB/s, and the longest single `write()`: the longest the event loop is held by one chunk.
 *
 *   npm run bench:model-scan            (builds first)
 *   node bench/model-scan.mjs           (after npm run build)
 */
import { BodyModelReader } from '../dist/proxy/body-model-reader.js';

const CHUNK = 64 * 1024;
const HEADERS = { 'content-type': 'application/json' };

function chatBody(bytes) {
  const head = '{"model":"gpt-4o-mini","stream":false,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"';
  const tail = '"}],"temperature":0.2,"max_tokens":256}';
  const filler = 'Tell me about caf\\u00e9s in Paris, \\"briefly\\". ';
  let text = '';
  while (head.length + text.length + tail.length < bytes) text += filler;
  return Buffer.from(head + text.slice(0, bytes - head.length - tail.length) + tail);
}

function nestedBody(bytes) {
  // A nested "model" first, the top-level one last: the shape that sent the old reader to JSON.parse.
  const unit = '{"a":[' + '['.repeat(60) + '1,2.5e3,"x"' + ']'.repeat(60) + ',{"b":null}]},';
  return Buffer.from(`{"messages":[{"model":"x"},${unit.repeat(Math.ceil(bytes / unit.length))}{}],"model":"M"}`);
}

/** Repeat `fn` for at least `minMs`; returns MB/s over `bytes` per call. */
function rate(bytes, fn, minMs = 600) {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return (bytes * n) / (elapsed / 1e9) / 1e6;
}

function scanChunks(body) {
  const reader = new BodyModelReader(HEADERS);
  for (let at = 0; at < body.length; at += CHUNK) reader.write(body.subarray(at, at + CHUNK));
  const r = reader.finish();
  if (r.kind !== 'model') throw new Error(`unexpected reading ${JSON.stringify(r)}`);
}

function parseWhole(body) {
  const doc = JSON.parse(body.toString('utf8'));
  if (typeof doc.model !== 'string') throw new Error('no model');
}

/** The longest single write() of 64 KiB, in ms, over `rounds` readings of `body`. */
function longestWrite(body, rounds = 20) {
  let worst = 0n;
  for (let k = 0; k < rounds; k++) {
    const reader = new BodyModelReader(HEADERS);
    for (let at = 0; at < body.length; at += CHUNK) {
      const t0 = process.hrtime.bigint();
      reader.write(body.subarray(at, at + CHUNK));
      const dt = process.hrtime.bigint() - t0;
      if (dt > worst) worst = dt;
    }
    reader.finish();
  }
  return Number(worst) / 1e6;
}

const cases = [
  ['1 KiB chat body', chatBody(1024)],
  ['1 MiB chat body', chatBody(1 << 20)],
  ['5 MiB nested body', nestedBody(5 << 20)],
];
console.log(`node ${process.version}; chunks of ${CHUNK / 1024} KiB\n`);
console.log('| body | bytes | reader MB/s | JSON.parse MB/s | longest write() ms | JSON.parse of the whole body ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [name, body] of cases) {
  const reader = rate(body.length, () => scanChunks(body));
  const parse = rate(body.length, () => parseWhole(body));
  const worst = longestWrite(body);
  const whole = body.length / (parse * 1e6) * 1e3;
  console.log(`| ${name} | ${body.length} | ${reader.toFixed(0)} | ${parse.toFixed(0)} | ${worst.toFixed(3)} | ${whole.toFixed(2)} |`);
}
