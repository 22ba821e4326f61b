/**
 * Typed gateway errors with stable codes (like undici's `UND_ERR_*`). Every code is listed once in
 * `ERROR_CODES` with its HTTP status and meaning; README.md documents each one and a test checks that.
 */

export const ERROR_CODES = {
  RG_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  RG_ERR_CLIENT_TIMEOUT: { status: 408, message: 'The client did not send the request in time.' },
  RG_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured limit.' },
  RG_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers exceed the configured limit.' },
  RG_ERR_UPSTREAM_CONNECT: { status: 502, message: 'Could not connect to the regional endpoint.' },
  RG_ERR_UPSTREAM_RESET: { status: 502, message: 'The regional endpoint closed the connection before answering.' },
  RG_ERR_UPSTREAM: { status: 502, message: 'The regional endpoint failed.' },
  RG_ERR_NO_ENDPOINT: { status: 503, message: 'No healthy regional endpoint serves this request.' },
  RG_ERR_DRAINING: { status: 503, message: 'The gateway is shutting down.' },
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
