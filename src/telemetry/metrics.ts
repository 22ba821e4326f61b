/**
 * A small Prometheus registry: counters and histograms with label sets bound once (an increment or an
 * observation on the hot path is a few adds, no allocation), and gauges read from callbacks at scrape time. Text exposition format
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

/** A histogram child bound to one label set: `observe` is a bucket search and three adds. */
export interface HistogramChild {
  observe(value: number): void;
}

/** Upper bounds in seconds, for request latency through a gateway (ms to minutes: generations are slow). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

class Histogram {
  readonly #children = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  labels(labels: Labels = {}): HistogramChild {
    const key = labelText(labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      child = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#children.set(key, child);
    }
    const c = child;
    const bounds = this.buckets;
    return {
      observe: (v) => {
        // Counts are per bucket here; `render` makes them cumulative, as the format wants.
        let i = 0;
        while (i < bounds.length && v > bounds[i]) i++;
        if (i < bounds.length) c.counts[i]++;
        c.sum += v;
        c.count++;
      },
    };
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [key, c] of this.#children) {
      const inner = key === '' ? '' : `${key.slice(1, -1)},`;
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += c.counts[i];
        out += `${this.name}_bucket{${inner}le="${this.buckets[i]}"} ${acc}\n`;
      }
      out += `${this.name}_bucket{${inner}le="+Inf"} ${c.count}\n${this.name}_sum${key} ${c.sum}\n${this.name}_count${key} ${c.count}\n`;
    }
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
  readonly #all: (Counter | Gauge | Histogram)[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#all.push(c);
    return c;
  }

  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    const h = new Histogram(name, help, buckets);
    this.#all.push(h);
    return h;
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

export type { Counter, Gauge, Histogram };

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(',')}}`;
}

/** Label values escape backslash, newline and double quote (exposition format 0.0.4). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
