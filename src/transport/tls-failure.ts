/**
 * What counts as a TLS failure toward an endpoint, by Node/OpenSSL error code: shared by the connector
 * (`tls-connect.ts`, which reports them) and the failure judge (`health/classify-failure.ts`).
 */

/** Whether an error code is a TLS handshake or certificate failure (Node/OpenSSL codes). */
export function isTlsFailure(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'EPROTO'
  );
}
