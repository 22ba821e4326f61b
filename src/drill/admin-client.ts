/**
 * The drill's side of one gateway's admin API: JSON over HTTP with the token (if any) and the
 * state-change header, each call bounded by a timeout. Failures come back as values, never throws.
 */
export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class AdminClient {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(base: string, token: string | undefined, timeoutMs = 5000) {
    this.#base = base.replace(/\/+$/, '');
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  get(path: string): Promise<AdminAnswer | Error> {
    return this.#call('GET', path, undefined);
  }

  post(path: string, body?: unknown): Promise<AdminAnswer | Error> {
    return this.#call('POST', path, body);
  }

  async #call(method: string, path: string, body: unknown): Promise<AdminAnswer | Error> {
    const headers: Record<string, string> = { 'x-regiongate-admin': '1' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text for the message
      }
      return { status: res.status, body: parsed };
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}

/** A short reason for a failed call. */
export function describeFailure(a: AdminAnswer | Error): string {
  if (a instanceof Error) return a.cause instanceof Error ? `${a.message}: ${a.cause.message}` : a.message;
  const e = (a.body as { error?: { message?: unknown } } | undefined)?.error;
  return `HTTP ${a.status}${typeof e?.message === 'string' ? `: ${e.message}` : ''}`;
}
