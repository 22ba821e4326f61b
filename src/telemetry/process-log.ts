/**
 * The CLI's own lines on stderr (listening, signals, workers, shutdown, fatal errors) as JSON, like the
 * gateway's logs: `{ time, level, event, gatewayId, worker, msg, ...fields }`. `msg` keeps the sentence an
 * operator reads at a terminal; the fields carry the same facts for a log pipeline. Written whatever
 * `log.level` says: these are the few lines that say what the process is doing.
 */
import cluster from 'node:cluster';
import { createLogger, type Logger } from './logger.js';

export type ProcessLogLevel = 'info' | 'warn' | 'error';

export interface ProcessLog {
  (level: ProcessLogLevel, event: string, msg: string, fields?: Record<string, unknown>): void;
}

/** The worker id of this process: the cluster worker's id, 0 for a single process or the primary. */
export function workerId(): number {
  return cluster.isWorker ? (cluster.worker?.id ?? 0) : 0;
}

/** A process log for `gatewayId` writing to `write` (stderr by default). */
export function createProcessLog(gatewayId: string, write: (line: string) => void = (l) => void process.stderr.write(l)): ProcessLog {
  const logger: Logger = createLogger('info', write, { gatewayId, worker: workerId() });
  return (level, event, msg, fields) => logger[level](event, { msg, ...fields });
}
