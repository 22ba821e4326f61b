/**
 * Merges the Prometheus text expositions of several processes (the workers of one `--workers N`
 * gateway) into one, each sample labelled with the process it came from. Series stay per worker, as
 * Prometheus wants them (a sum would reset whenever a worker restarts); `sum without (worker)` in a
 * query gives the gateway's total. Samples of one family stay together under one HELP/TYPE, as the
 * text format requires.
 */
import { escapeLabelValue } from './metrics.js';

export interface Exposition {
  /** The label value naming the process, e.g. the worker's gateway id. */
  readonly worker: string;
  readonly text: string;
}

interface Family {
  readonly head: string[];
  readonly samples: string[];
}

/** One exposition holding every sample of `parts`, each with a `label="<worker>"` label added. */
export function mergeMetrics(parts: readonly Exposition[], label = 'worker'): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { head: [], samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const part of parts) {
    const pair = `${label}="${escapeLabelValue(part.worker)}"`;
    let current: Family | undefined;
    for (const line of part.text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        current = family(line.split(' ', 3)[2] ?? '');
        if (!current.head.includes(line)) current.head.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      // A sample before any HELP/TYPE (untyped) forms a family of its own name.
      (current ?? family(sampleName(line))).samples.push(withLabel(line, pair));
    }
  }
  let out = '';
  for (const f of families.values()) {
    for (const h of f.head) out += `${h}\n`;
    for (const s of f.samples) out += `${s}\n`;
  }
  return out;
}

function sampleName(line: string): string {
  const end = line.search(/[{ ]/);
  return end === -1 ? line : line.slice(0, end);
}

/** `name{a="1"} 5` → `name{worker="w1",a="1"} 5`; `name 5` → `name{worker="w1"} 5`. */
export function withLabel(sample: string, pair: string): string {
  const brace = sample.indexOf('{');
  const space = sample.indexOf(' ');
  if (brace !== -1 && (space === -1 || brace < space)) {
    const empty = sample[brace + 1] === '}';
    return `${sample.slice(0, brace + 1)}${pair}${empty ? '' : ','}${sample.slice(brace + 1)}`;
  }
  if (space === -1) return sample;
  return `${sample.slice(0, space)}{${pair}}${sample.slice(space)}`;
}
