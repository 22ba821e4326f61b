/**
 * Typed gateway errors with stable codes (like undici's `UND_ERR_*`). Every code is listed once in
 * `ERROR_CODES` with its HTTP status and meaning; README.md documents each one and a test checks that.
 */

export const ERROR_CODES = {
  RG_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  RG_ERR_AMBIGUOUS_PATH: { status: 400, message: 'The request path is encoded ambiguously: an upstream could read it as a different path.' },
  RG_ERR_BAD_UPGRADE: { status: 400, message: 'Only WebSocket upgrades (GET with Upgrade: websocket) are forwarded.' },
  RG_ERR_MODEL_REQUIRED: { status: 400, message: 'Routing rules restrict models to regions; this request must name its model.' },
  RG_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'The gateway does not forward this method.' },
  RG_ERR_CLIENT_TIMEOUT: { status: 408, message: 'The client did not send the request in time.' },
  RG_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured limit.' },
  RG_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers exceed the configured limit.' },
  RG_ERR_UPSTREAM_CONNECT: { status: 502, message: 'Could not connect to the regional endpoint.' },
  RG_ERR_UPSTREAM_RESET: { status: 502, message: 'The regional endpoint closed the connection before answering.' },
  RG_ERR_UPSTREAM: { status: 502, message: 'The regional endpoint failed.' },
  RG_ERR_NO_ENDPOINT: { status: 503, message: 'No healthy regional endpoint serves this request.' },
  RG_ERR_DRAINING: { status: 503, message: 'The gateway is shutting down.' },
  RG_ERR_TUNNEL_LIMIT: { status: 503, message: 'Every endpoint that could take this WebSocket already has its `connections` tunnels open.' },
  RG_ERR_RETRY_BUDGET: { status: 503, message: 'The retry budget is exhausted; the failed attempt was not retried.' },
  RG_ERR_UPSTREAM_CONNECT_TIMEOUT: { status: 504, message: 'Connecting to the regional endpoint timed out.' },
  RG_ERR_FIRST_BYTE_TIMEOUT: { status: 504, message: 'The regional endpoint did not answer in time.' },
  RG_ERR_UPSTREAM_IDLE_TIMEOUT: { status: 504, message: 'The regional endpoint stalled between body chunks.' },
  RG_ERR_REQUEST_TIMEOUT: { status: 504, message: 'The request deadline passed.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error the gateway answers with. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** True when the failure happened before the request reached an upstream (retrying costs it nothing). */
  readonly beforeUpstream: boolean;

  constructor(code: ErrorCode, opts: { message?: string; cause?: unknown; beforeUpstream?: boolean } = {}) {
    super(opts.message ?? ERROR_CODES[code].message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.beforeUpstream = opts.beforeUpstream ?? false;
  }

  /** The OpenAI-style JSON body sent to clients. */
  toJSON(): { error: { message: string; type: 'gateway_error'; code: ErrorCode } } {
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
