/**
 * `--workers N`: one gateway on all cores. The primary forks N workers that each run the full gateway
 * on the shared listening port (the kernel spreads connections), relays fleet events between them so
 * one worker's ejection applies to all, restarts a worker that dies, and on SIGTERM/SIGINT asks every
 * worker to drain and waits for them.
 */
import cluster, { type Worker } from 'node:cluster';
import { isIpcBusMessage, type IpcBusMessage, type IpcSnapshotMessage } from './state/ipc-bus.js';

export interface ClusterOptions {
  readonly workers: number;
  /** Written to stderr. */
  readonly log?: (line: string) => void;
}

/** Run in the primary: fork and supervise the workers. Resolves when all of them have exited. */
export function runPrimary(opts: ClusterOptions): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Let the kernel balance accepted connections instead of round-robin through the primary.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const snapshot = new Map<string, string>();
  let stopping = false;
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('online', () => {
      const msg: IpcSnapshotMessage = { rg: 'fleet-snapshot', fields: [...snapshot] };
      w.send(msg);
    });
    w.on('message', (msg: unknown) => {
      if (!isIpcBusMessage(msg)) return;
      snapshot.set(msg.field, msg.raw);
      relay(w, msg);
    });
    return w;
  };
  const relay = (from: Worker, msg: IpcBusMessage): void => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && w !== from && w.isConnected()) w.send(msg);
  };
  for (let i = 0; i < opts.workers; i++) fork();
  return new Promise((resolve) => {
    cluster.on('exit', (w, code, signal) => {
      if (!stopping) {
        log(`worker ${w.process.pid} exited (${signal ?? code}); starting another`);
        fork();
      } else if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
    });
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: draining ${opts.workers} workers`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
