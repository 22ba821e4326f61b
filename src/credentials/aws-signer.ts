/**
 * AWS Signature Version 4 for endpoints behind AWS auth (Bedrock's OpenAI-compatible endpoint, SageMaker),
 * with AWS's own signer (`@smithy/signature-v4`, `@aws-crypto/sha256-js`). Each attempt is signed afresh
 * (the date is part of the signature) over exactly the buffered body the attempt sends. Credentials come
 * from the standard chain (`@aws-sdk/credential-provider-node`: environment, shared files, SSO, web
 * identity, ECS/EC2 roles), resolved ahead of time by the credential keeper, never on the request path.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Clock } from '../util/clock.js';
import type { IssuedToken } from './token-output.js';
import type { TokenSource } from './token-sources.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** What is signed: the request as it goes upstream. */
export interface SignableRequest {
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly body: Buffer | null;
}

/** Headers the signature adds (`authorization`, `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256`). */
export type SignedHeaders = readonly (readonly [string, string])[];

const ADDED = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];
const ADDED_SET: ReadonlySet<string> = new Set(ADDED);

/**
 * Flat upstream headers (lower-case names) with the signature's headers in place of any the client sent
 * (a client's own `authorization` or `x-amz-*` would otherwise travel beside the gateway's signature).
 */
export function withSignature(headers: readonly string[], signed: SignedHeaders): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!ADDED_SET.has(headers[i])) out.push(headers[i], headers[i + 1]);
  for (const [k, v] of signed) out.push(k, v);
  return out;
}

export class AwsRequestSigner {
  readonly #signer: SignatureV4;
  readonly #clock: Clock;

  /** `credentials` returns the credentials held now (undefined: none, the request is refused). */
  constructor(opts: { region: string; service: string; clock: Clock; credentials: () => AwsCredentials | undefined }) {
    this.#clock = opts.clock;
    this.#signer = new SignatureV4({
      region: opts.region,
      service: opts.service,
      sha256: Sha256,
      // No x-amz-content-sha256 header: Bedrock and SageMaker do not ask for it (S3 does); the body hash is
      // in the signature either way.
      applyChecksum: false,
      // The held credentials; the signer asks per request, the keeper refreshes them on its timer.
      credentials: async () => {
        const c = opts.credentials();
        if (c === undefined) throw new Error('no AWS credentials are held');
        return c;
      },
    });
  }

  /** The headers to add to `req` for its signature, computed over its host, path, query and body. */
  async sign(req: SignableRequest): Promise<SignedHeaders> {
    const url = new URL(req.path, req.origin);
    const q = req.path.indexOf('?');
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signed = await this.#signer.sign(
      {
        method: req.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        // The path exactly as sent (already percent-encoded); the signer escapes it again for the canonical
        // URI, as AWS services other than S3 expect.
        path: q === -1 ? req.path : req.path.slice(0, q),
        query,
        headers: { host: url.host },
        body: req.body ?? undefined,
      },
      { signingDate: new Date(this.#clock.now()) },
    );
    const out: [string, string][] = [];
    for (const name of ADDED) {
      const v = signed.headers[name];
      if (v !== undefined) out.push([name, v]);
    }
    return out;
  }
}

/**
 * The credential chain as a keeper's source: its credentials serialised as the "token" the keeper holds
 * (never sent as is: an endpoint with a signer sends only the signature), with their expiry.
 */
export function awsCredentialSource(provider: () => Promise<AwsCredentials>): TokenSource {
  return {
    async read(): Promise<IssuedToken> {
      const c = await provider();
      const token = JSON.stringify({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken });
      return { token, expiresAt: c.expiration?.getTime() };
    },
  };
}

/** The credentials a keeper holds for `awsCredentialSource`, parsed once per change. */
export function heldAwsCredentials(read: () => string | undefined): () => AwsCredentials | undefined {
  let last: string | undefined;
  let parsed: AwsCredentials | undefined;
  return () => {
    const v = read();
    if (v !== last) [last, parsed] = [v, v === undefined ? undefined : (JSON.parse(v) as AwsCredentials)];
    return parsed;
  };
}
