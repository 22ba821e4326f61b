/**
 * Typed gateway errors with stable codes (like undici's `UND_ERR_*`). Every code is listed once in
 * `ERROR_CODES` with its HTTP status and meaning; README.md documents each one and a test checks that.
 */

export const ERROR_CODES = {
  RG_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  RG_ERR_MODEL_UNDETERMINED: { status: 400, message: "The request's model cannot be determined from its body." },
  RG_ERR_AMBIGUOUS_PATH: { status: 400, message: 'The request path is encoded ambiguously: an upstream could read it as a different path.' },
  RG_ERR_BAD_UPGRADE: { status: 400, message: 'Only WebSocket upgrades (GET with Upgrade: websocket) are forwarded.' },
  RG_ERR_MODEL_REQUIRED: { status: 400, message: 'Routing rules restrict models to regions; this request must name its model.' },
  RG_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'The gateway does not forward this method.' },
  RG_ERR_CLIENT_TIMEOUT: { status: 408, message: 'The client did not send the request in time.' },
  RG_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured limit.' },
  RG_ERR_UNKNOWN_REGION: { status: 400, message: 'The x-regiongate-regions header names a region this gateway does not have.' },
  RG_ERR_MODEL_NOT_FOUND: { status: 404, message: 'No endpoint of this gateway serves the requested model.' },
  RG_ERR_NOT_IN_REGIONS: { status: 404, message: 'What the request asks for is served only outside the regions it may use.' },
  RG_ERR_MODEL_RENAME_UNSUPPORTED: { status: 415, message: 'An endpoint knows this model by another name, and the gateway renames it only in JSON request bodies.' },
  RG_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers exceed the configured limit.' },
  RG_ERR_UPSTREAM_CONNECT: { status: 502, message: 'Could not connect to the regional endpoint.' },
  RG_ERR_UPSTREAM_RESET: { status: 502, message: 'The regional endpoint closed the connection before answering.' },
  RG_ERR_UPSTREAM: { status: 502, message: 'The regional endpoint failed.' },
  RG_ERR_UPSTREAM_TLS: { status: 502, message: 'The TLS handshake with the regional endpoint failed (certificate or protocol).' },
  RG_ERR_UPSTREAM_PROTOCOL: { status: 502, message: 'The regional endpoint answered with something that is not a valid HTTP response.' },
  RG_ERR_UPSTREAM_BROKEN: { status: 502, message: "The regional endpoint's answer broke off after it had started." },
  RG_ERR_UNCLASSIFIED: { status: 502, message: 'The attempt failed in a way the gateway does not recognise; the endpoint was not blamed and the request was not retried.' },
  RG_ERR_NO_ENDPOINT: { status: 503, message: 'No healthy regional endpoint serves this request.' },
  RG_ERR_CREDENTIALS_EXPIRED: { status: 503, message: "The endpoint's refreshed credential expired and no refresh has succeeded." },
  RG_ERR_ENDPOINTS_DRAINED: { status: 503, message: 'Every regional endpoint that can serve this request is drained by an operator.' },
  RG_ERR_DRAINING: { status: 503, message: 'The gateway is shutting down.' },
  RG_ERR_GATEWAY_RESOURCES: { status: 503, message: 'The gateway ran out of its own resources (ports, file descriptors, memory) to reach the endpoint.' },
  RG_ERR_QUEUE_TIMEOUT: { status: 503, message: "Every connection to the chosen endpoint stayed busy for longer than timeouts.queue." },
  RG_ERR_BUFFER_FULL: { status: 503, message: 'The gateway is holding as many request bodies as limits.bufferedBytes allows; retry shortly.' },
  RG_ERR_TUNNEL_LIMIT: { status: 503, message: 'Every endpoint that could take this WebSocket already has its `connections` tunnels open.' },
  RG_ERR_FAULT_INJECTED: { status: 503, message: 'A fault drill injected an error into this attempt (not a real failure of the endpoint).' },
  RG_ERR_RETRY_BUDGET: { status: 503, message: 'The retry budget is exhausted; the failed attempt was not retried.' },
  RG_ERR_UPSTREAM_CONNECT_TIMEOUT: { status: 504, message: 'Connecting to the regional endpoint timed out.' },
  RG_ERR_FIRST_BYTE_TIMEOUT: { status: 504, message: 'The regional endpoint did not answer in time.' },
  RG_ERR_UPSTREAM_IDLE_TIMEOUT: { status: 504, message: 'The regional endpoint stalled between body chunks.' },
  RG_ERR_FAULT_HANG: { status: 504, message: 'A fault drill held this attempt until its first-byte timeout (not a real failure of the endpoint).' },
  RG_ERR_REQUEST_TIMEOUT: { status: 504, message: 'The request deadline passed.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The OpenAI error fields of a body, where OpenAI has a meaning for the failure (a missing model is
 * `invalid_request_error` / `model_not_found`, which SDKs surface as a 404 and do not retry).
 */
export interface OpenAiErrorFields {
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
}

/** Base of every error the gateway answers with. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** OpenAI's own type, code and param for the body; the gateway's code stays in `x-regiongate-error`. */
  readonly openai: OpenAiErrorFields | undefined;

  constructor(code: ErrorCode, opts: { message?: string; cause?: unknown; openai?: OpenAiErrorFields } = {}) {
    super(opts.message ?? ERROR_CODES[code].message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.openai = opts.openai;
  }

  /** The OpenAI-style JSON body sent to clients. */
  toJSON(): { error: { message: string; type: string; param?: string | null; code: string } } {
    const o = this.openai;
    if (o !== undefined) return { error: { message: this.message, type: o.type, param: o.param, code: o.code } };
    return { error: { message: this.message, type: 'gateway_error', code: this.code } };
  }
}

/** A configuration error: every problem found, each with its key path and reason. */
export class ConfigError extends Error {
  readonly code = 'RG_ERR_CONFIG';
  readonly issues: readonly string[];

  constructor(issues: readonly string[], source?: string) {
    super(`invalid config${source ? ` ${source}` : ''}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

const BIND_FAILURES: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
};

/** A listener could not bind (port in use, address not available, no permission): the CLI exits 1. */
export class ListenError extends Error {
  readonly code = 'RG_ERR_LISTEN';
  /** Which listener: `main` or `admin`. */
  readonly listener: string;
  readonly address: string;

  constructor(listener: string, host: string, port: number, cause: unknown) {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why = code !== undefined && code in BIND_FAILURES ? `${BIND_FAILURES[code]} (${code})` : ((cause as Error | undefined)?.message ?? String(cause));
    super(`cannot listen: ${listener} listener on ${address}: ${why}`, { cause });
    this.name = 'ListenError';
    this.listener = listener;
    this.address = address;
  }
}

/** The command line was misused (unknown command or option, missing argument): the CLI exits 64. */
export class UsageError extends Error {
  readonly code = 'RG_ERR_USAGE';
  /** The command whose usage to print after the message, if known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}
