/**
 * A small Prometheus registry: counters with label sets bound once (an increment on the hot path is a
 * property add, no allocation), and gauges read from callbacks at scrape time. Text exposition format
 * 0.0.4.
 */

type Labels = Readonly<Record<string, string>>;

/** A counter child bound to one label set. */
export interface CounterChild {
  inc(by?: number): void;
}

class Counter {
  readonly #children = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The child for `labels`, created once; keep it to increment without lookups. */
  labels(labels: Labels = {}): CounterChild {
    const key = labelText(labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      child = { labels, value: 0 };
      this.#children.set(key, child);
    }
    const c = child;
    return { inc: (by = 1) => void (c.value += by) };
  }

  inc(labels: Labels = {}, by = 1): void {
    this.labels(labels).inc(by);
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [key, c] of this.#children) out += `${this.name}${key} ${c.value}\n`;
    return out;
  }
}

class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect: () => Iterable<readonly [Labels, number]>,
    readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    for (const [labels, value] of this.collect()) out += `${this.name}${labelText(labels)} ${value}\n`;
    return out;
  }
}

export class Metrics {
  readonly #all: (Counter | Gauge)[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#all.push(c);
    return c;
  }

  gauge(name: string, help: string, collect: () => Iterable<readonly [Labels, number]>): Gauge {
    const g = new Gauge(name, help, collect);
    this.#all.push(g);
    return g;
  }

  /** A counter kept elsewhere (e.g. by the state store), read at scrape time. */
  counterFrom(name: string, help: string, collect: () => Iterable<readonly [Labels, number]>): Gauge {
    const g = new Gauge(name, help, collect, 'counter');
    this.#all.push(g);
    return g;
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return this.#all.map((m) => m.render()).join('');
  }
}

export type { Counter, Gauge };

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(',')}}`;
}

/** Label values escape backslash, newline and double quote (exposition format 0.0.4). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
