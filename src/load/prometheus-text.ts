/**
 * A small strict reader of the Prometheus text exposition format (version 0.0.4), enough for the load
 * metrics model servers publish: `name{label="value",...} value [timestamp]`, `# HELP` / `# TYPE`
 * comments, escaped label values (`\\`, `\"`, `\n`), `NaN` / `+Inf` / `-Inf`. No npm parser is both
 * maintained and typed (parse-prometheus-text-format last shipped in 2020), and we need only samples.
 *
 * Strict: a malformed line makes the whole exposition invalid (a `PrometheusParseError` naming the line),
 * so a truncated or foreign page never passes for a partial one with some metrics silently missing.
 */

/** One sample line. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class PrometheusParseError extends Error {
  constructor(readonly line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parse a whole exposition into samples; throws `PrometheusParseError` on the first malformed line. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSample(line, i + 1));
  }
  return samples;
}

function parseSample(line: string, n: number): PromSample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new PrometheusParseError(n, 'expected a metric name');
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos = parseLabels(line, pos + 1, labels, n);
  }
  const rest = line.slice(pos);
  if (!/^[ \t]/.test(rest)) throw new PrometheusParseError(n, `expected a value after ${name}`);
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length > 2) throw new PrometheusParseError(n, 'trailing text after the value and timestamp');
  const value = parseValue(fields[0]);
  if (value === undefined) throw new PrometheusParseError(n, `not a number: ${JSON.stringify(fields[0].slice(0, 40))}`);
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1])) throw new PrometheusParseError(n, 'timestamp must be an integer');
  return { name, labels, value };
}

/** Parse `a="x",b="y"}` from `pos`; returns the index after `}`. */
function parseLabels(line: string, pos: number, out: Record<string, string>, n: number): number {
  for (;;) {
    while (line[pos] === ' ') pos++;
    if (line[pos] === '}') return pos + 1;
    const name = LABEL_NAME.exec(line.slice(pos))?.[0];
    if (name === undefined) throw new PrometheusParseError(n, 'expected a label name');
    pos += name.length;
    if (line[pos] !== '=' || line[pos + 1] !== '"') throw new PrometheusParseError(n, `expected ="…" after label ${name}`);
    pos += 2;
    let value = '';
    for (;;) {
      const c = line[pos];
      if (c === undefined) throw new PrometheusParseError(n, `unterminated value of label ${name}`);
      pos++;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = line[pos++];
      if (e === 'n') value += '\n';
      else if (e === '\\' || e === '"') value += e;
      else throw new PrometheusParseError(n, `bad escape in label ${name}`);
    }
    if (Object.hasOwn(out, name)) throw new PrometheusParseError(n, `label ${name} repeated`);
    out[name] = value;
    while (line[pos] === ' ') pos++;
    if (line[pos] === ',') pos++;
    else if (line[pos] !== '}') throw new PrometheusParseError(n, 'expected "," or "}" after a label');
  }
}

function parseValue(s: string): number | undefined {
  if (s === 'NaN') return Number.NaN;
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}
