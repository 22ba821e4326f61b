/**
 * `--workers N`: one gateway on all cores. The primary forks N workers that each run the full gateway
 * on the shared listening port (the kernel spreads connections), relays fleet events between them so
 * one worker's ejection applies to all, restarts a worker that dies, serves the admin port for all of
 * them (see `ClusterAdmin`), and on SIGTERM/SIGINT asks every worker to drain and waits for them.
 */
import cluster, { type Worker } from 'node:cluster';
import { ClusterAdmin, type WorkerAdmin } from './admin/cluster-admin.js';
import { isIpcBusMessage, type IpcBusMessage, type IpcSnapshotMessage } from './state/ipc-bus.js';

export interface ClusterOptions {
  readonly workers: number;
  /** Where the primary serves the admin port (undefined: `admin.enabled` is false). */
  readonly admin?: { readonly host: string; readonly port: number; readonly allowedHosts?: readonly string[] };
  /** Written to stderr. */
  readonly log?: (line: string) => void;
}

/** A worker tells the primary where its private admin listener is. */
export interface WorkerAdminMessage extends WorkerAdmin {
  readonly rg: 'worker-admin';
}

export function isWorkerAdminMessage(m: unknown): m is WorkerAdminMessage {
  const w = m as WorkerAdminMessage;
  return typeof m === 'object' && m !== null && w.rg === 'worker-admin' && typeof w.url === 'string' && typeof w.gatewayId === 'string';
}

/** Run in the primary: fork and supervise the workers. Resolves when all of them have exited. */
export async function runPrimary(opts: ClusterOptions): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Let the kernel balance accepted connections instead of round-robin through the primary.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const snapshot = new Map<string, string>();
  const admins = new Map<number, WorkerAdmin>();
  let stopping = false;
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('online', () => {
      const msg: IpcSnapshotMessage = { rg: 'fleet-snapshot', fields: [...snapshot] };
      w.send(msg);
    });
    w.on('message', (msg: unknown) => {
      if (isWorkerAdminMessage(msg)) return void admins.set(w.id, { gatewayId: msg.gatewayId, url: msg.url });
      if (!isIpcBusMessage(msg)) return;
      snapshot.set(msg.field, msg.raw);
      relay(w, msg);
    });
    return w;
  };
  const relay = (from: Worker, msg: IpcBusMessage): void => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && w !== from && w.isConnected()) w.send(msg);
  };
  const admin = opts.admin && new ClusterAdmin({ workers: () => [...admins].sort(([a], [b]) => a - b).map(([, w]) => w), host: opts.admin.host, allowedHosts: opts.admin.allowedHosts, log });
  if (admin && opts.admin) log(`regiongate: ${opts.workers} workers, admin on ${await admin.listen(opts.admin.port, opts.admin.host)}`);
  for (let i = 0; i < opts.workers; i++) fork();
  await new Promise<void>((resolve) => {
    cluster.on('exit', (w, code, signal) => {
      admins.delete(w.id);
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
  await admin?.close();
}
