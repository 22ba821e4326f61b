/**
 * A fleet of simulated regions plus their control server, started and closed together; and the three
 * demo regions. Their served models differ so model filtering shows: `gpt-4o-mini` is not served in
 * frankfurt, `mistral-large` not in us-east-1, embeddings only in us-east-1. The two priority-0 regions
 * have a capacity model and publish vLLM /metrics (the demo config scrapes them as `loadSignals`): the
 * nearest, us-east-1, runs only 4 sequences at once, so a few concurrent streams fill it and load-aware
 * routing spills to europe-west4 (32 sequences); frankfurt has no capacity limit and no load signals, so
 * it is scored on latency only.
 */
import { RegionSimulator, type RegionSimulatorOptions } from './region-simulator.js';
import { SimControl } from './sim-control.js';

export interface SimFleetOptions {
  /** Port of the control server (default 0: any free port). */
  controlPort?: number;
  /** Host of the control server (default `127.0.0.1`); simulators keep their own `host`. */
  host?: string;
}

export interface SimFleet {
  readonly simulators: readonly RegionSimulator[];
  readonly control: SimControl;
  /** The simulator named `name`, if any. */
  get(name: string): RegionSimulator | undefined;
  /** Close the control server and every simulator. Idempotent. */
  close(): Promise<void>;
}

/** The demo regions: `aws/us-east-1`, `gcp/europe-west4`, `onprem/frankfurt`, nearest first. */
export const DEMO_REGIONS: readonly Readonly<RegionSimulatorOptions>[] = Object.freeze([
  Object.freeze({
    provider: 'aws',
    name: 'us-east-1',
    latencyMs: 20,
    ttftMs: 30,
    tokens: 16,
    tokenIntervalMs: 15,
    capacity: 4,
    models: Object.freeze(['gpt-4o-mini', 'llama-3.1-70b', 'text-embedding-3-small']),
  }),
  Object.freeze({
    provider: 'gcp',
    name: 'europe-west4',
    latencyMs: 45,
    ttftMs: 50,
    tokens: 16,
    tokenIntervalMs: 20,
    capacity: 32,
    models: Object.freeze(['gpt-4o-mini', 'llama-3.1-70b', 'mistral-large']),
  }),
  Object.freeze({
    provider: 'onprem',
    name: 'frankfurt',
    latencyMs: 70,
    ttftMs: 80,
    tokens: 16,
    tokenIntervalMs: 30,
    models: Object.freeze(['llama-3.1-70b', 'mistral-large']),
  }),
]);

/** Start one simulator per spec and a control server over them. On a failure, closes what started. */
export async function startSimFleet(
  specs: readonly Readonly<RegionSimulatorOptions>[],
  opts: SimFleetOptions = {},
): Promise<SimFleet> {
  const simulators = specs.map((spec) => new RegionSimulator(spec));
  const control = new SimControl(simulators, { host: opts.host, port: opts.controlPort });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([control.close(), ...simulators.map((sim) => sim.close())]).then(() => undefined);
    return closing;
  };
  // allSettled: a failed start must not leave another one listening after close().
  const started = await Promise.allSettled([...simulators.map((sim) => sim.start()), control.start()]);
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const byName = new Map(simulators.map((sim) => [sim.name, sim]));
  return { simulators, control, get: (name) => byName.get(name), close };
}
