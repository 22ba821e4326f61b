/**
 * The IPC messages of a reload with `--workers`: the primary, having re-read and checked the config
 * once, asks every worker to reload; each answers with its result or its problems.
 */
import type { ReloadResult } from './reloader.js';

export interface ReloadRequestMessage {
  readonly rg: 'reload';
  readonly id: number;
  /** The config file's text as the primary read and checked it: every worker applies the same one. */
  readonly text: string;
}

export interface ReloadReplyMessage {
  readonly rg: 'reload-result';
  readonly id: number;
  readonly gatewayId: string;
  /** The worker's result, or the problems that made it refuse. */
  readonly result?: ReloadResult;
  readonly problems?: readonly string[];
}

export function isReloadRequest(m: unknown): m is ReloadRequestMessage {
  const r = m as ReloadRequestMessage;
  return typeof m === 'object' && m !== null && r.rg === 'reload' && typeof r.id === 'number' && typeof r.text === 'string';
}

export function isReloadReply(m: unknown): m is ReloadReplyMessage {
  const r = m as ReloadReplyMessage;
  return typeof m === 'object' && m !== null && r.rg === 'reload-result' && typeof r.id === 'number' && typeof r.gatewayId === 'string';
}
