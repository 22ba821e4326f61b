/**
 * When each error code happens and what the client should do, for docs/errors.md (`npm run docs`). The
 * status and message come from ERROR_CODES (src/errors.ts); a code missing here fails the type check.
 */
import type { ErrorCode } from '../errors.js';

export const ERROR_NOTES: Readonly<Record<ErrorCode, string>> = {
  RG_ERR_BAD_REQUEST:
    'Node\'s HTTP parser rejected the request (request-smuggling shapes included), the request target is not a path (e.g. absolute-form `GET http://…`), it has two `Host` headers, or a `Transfer-Encoding` other than `chunked`. Fix the request; retrying it unchanged will fail again. A malformed JSON body is not judged here: the upstream answers it with its own 400.',
  RG_ERR_MODEL_UNDETERMINED:
    'Some `routing.rules` entry names a model, and the body\'s model cannot be read exactly as the upstream would read it (malformed JSON, duplicate form fields, a compressed body, …; the message names the reason; see [How the model is read](routing.md#how-the-model-is-read)). No upstream was contacted. Send one plain `model` as a JSON string or a single form field.',
  RG_ERR_AMBIGUOUS_PATH:
    '`%00` in the path, or a dot segment hidden behind `%2F`, `%5C`, `\\` or a double `%25` encoding (see [Headers, paths and methods](routing.md#headers-paths-and-methods-at-the-edge)). Send the path plainly.',
  RG_ERR_BAD_UPGRADE:
    'An Upgrade request for another protocol (`h2c`) or with another method.',
  RG_ERR_MODEL_REQUIRED:
    '`routing.rules` name models and a WebSocket upgrade has no `?model=`. Add the model to the query.',
  RG_ERR_METHOD_NOT_ALLOWED:
    '`TRACE` or `CONNECT`, or a method-override header naming one. The answer has an `allow` header.',
  RG_ERR_CLIENT_TIMEOUT:
    'Headers took longer than `timeouts.clientHeaders`, or the whole request longer than `timeouts.clientRequest`. The connection is closed. Retry, and check for a slow or stalled uploader.',
  RG_ERR_BODY_TOO_LARGE:
    'The body is larger than `limits.bodyBytes` (declared or counted). The connection is closed. Send a smaller request; do not retry as is.',
  RG_ERR_UNKNOWN_REGION:
    'A name in `x-regiongate-regions` is not a configured region; the message lists the regions. The body\'s `type` is `invalid_request_error`. Fix the header; retrying it unchanged will fail again.',
  RG_ERR_MODEL_NOT_FOUND:
    'No endpoint serves the body\'s `model` (or the `{id}` of `/v1/models/{id}`): not in any configured list, and not listed by any `"*"` endpoint while each of them has a list. The body is OpenAI\'s (`code: "model_not_found"`, `param: "model"`), so SDKs do not retry. Check the model name.',
  RG_ERR_NOT_IN_REGIONS:
    'The model is served, but not in the regions `x-regiongate-regions` and `routing.rules` allow (data residency). The body says `model_not_found` for a request with a model. Widen the header, or ask for a model served there.',
  RG_ERR_MODEL_RENAME_UNSUPPORTED:
    'The body is a form (multipart or urlencoded) and some endpoint\'s `models` map renames its model (see [One model, many names](routing.md#one-model-many-names)). No upstream was contacted. Send the request as JSON.',
  RG_ERR_HEADERS_TOO_LARGE:
    'The header block is larger than `limits.headerBytes`. Trim the headers (cookies, tokens).',
  RG_ERR_UPSTREAM_CONNECT:
    'The connection was refused, or DNS or the network failed, on the last attempt allowed. Retry later with backoff.',
  RG_ERR_UPSTREAM_RESET:
    'The last attempt was reset before its response headers. Retry with backoff. After headers, a reset cuts the stream instead (SSE clients get this code in an `event: error` frame).',
  RG_ERR_UPSTREAM:
    'Any other upstream failure on the last attempt. Retry with backoff.',
  RG_ERR_UPSTREAM_TLS:
    'A certificate problem or TLS failure toward the endpoint (untrusted or expired certificate, wrong name, client certificate refused): counted as a failure to connect (the endpoint is unreachable), retried elsewhere whatever the method, logged as `upstream.tls_failure` (see [TLS toward endpoints](configuration.md#tls-toward-endpoints)).',
  RG_ERR_UPSTREAM_PROTOCOL:
    'The endpoint sent an interim `100 Continue` nobody asked for, which the gateway\'s HTTP client cannot parse. Not held against the endpoint; replayed elsewhere where the request is replayable.',
  RG_ERR_UPSTREAM_BROKEN:
    'Only ever in an SSE `event: error` frame or as a cut connection: the endpoint reset after the headers went out. The message names what broke. Retry the request.',
  RG_ERR_UNCLASSIFIED:
    'A failure outside the classifier\'s allow-list (logged as `proxy.unclassified_failure` with the underlying code). Report it; retry with backoff.',
  RG_ERR_NO_ENDPOINT:
    'The request could be served, but no endpoint may take it now. Unknown models and regions are `404`/`400` instead (above); unhealthy candidates are still tried (panic), but never drained ones (see `RG_ERR_ENDPOINTS_DRAINED`). Also answered, without a body, to an Upgrade request that finds no endpoint. Retry after `retry-after`.',
  RG_ERR_CREDENTIALS_EXPIRED:
    'The endpoint\'s `credentials` source has failed since its token expired (see `credentials.refresh_failed` in the log). The request was not sent there; other endpoints are tried first and this is answered only when none could take it. Fix the token source; retry after `retry-after`.',
  RG_ERR_ENDPOINTS_DRAINED:
    'Endpoints serve the request\'s `model` in the allowed regions, but every one of them is drained or in a fire drill; the message names the regions. Operator intent wins over panic, so the gateway does not send it there anyway. Pick another region, or wait for the undrain.',
  RG_ERR_DRAINING:
    'An Upgrade (WebSocket) request arrived during a drain. Ordinary requests that reach a draining gateway are still served, with `connection: close`, until the listener closes. Retry: the load balancer sends it to another instance.',
  RG_ERR_GATEWAY_RESOURCES:
    'The gateway host is out of ephemeral ports or file descriptors. Not held against any endpoint. Retry after `retry-after`; operators raise limits or add gateways.',
  RG_ERR_QUEUE_TIMEOUT:
    'The endpoint\'s `connections` were all in use for `timeouts.queue` and no other endpoint could take the request. Not held against the endpoint. Retry after `retry-after`.',
  RG_ERR_BUFFER_FULL:
    'All requests together hold `limits.bufferedBytes` of bodies. Answered before the body is read when `Content-Length` says so; the connection is closed. Retry after `retry-after`.',
  RG_ERR_TUNNEL_LIMIT:
    'Each endpoint that serves the upgrade holds `connections` open tunnels. Retry after `retry-after`, or raise `connections`.',
  RG_ERR_RETRY_BUDGET:
    'A reset or first-byte timeout could have been retried, but retries already exceed `retry.budget.*` (20 % of requests plus 10 per second): the upstreams are failing broadly. Retry after `retry-after` with backoff.',
  RG_ERR_UPSTREAM_CONNECT_TIMEOUT:
    'The last attempt did not connect within `timeouts.connect`. Retry with backoff.',
  RG_ERR_FIRST_BYTE_TIMEOUT:
    'The last attempt got no response headers within its first-byte limit (`timeouts.firstByte`, or `firstByteStream`/`firstByteUnary`). When the endpoint was answering other requests meanwhile, the generation may still be running there and was deliberately not started elsewhere. Long non-streamed generations may need a longer limit, or `"stream": true`.',
  RG_ERR_UPSTREAM_IDLE_TIMEOUT:
    'The upstream was silent longer than `timeouts.idle` mid-answer. The status was already sent, so the stream is cut; SSE clients get this code in an `event: error` frame. Retry the request.',
  RG_ERR_REQUEST_TIMEOUT:
    'No answer\'s headers within `timeouts.request`, all attempts included. Past the deadline after the headers, the answer is cut instead. Retry later, or raise the limit.',
  RG_ERR_FAULT_INJECTED:
    'A `--mode fault --fault error` drill is running against the endpoint\'s region (see [drills](drills.md#fault-mode)); the endpoint itself is fine and was not blamed. Seen by a client only when no retry could take the request elsewhere.',
  RG_ERR_FAULT_HANG:
    'A `--fault hang` drill is running against the endpoint\'s region ([drills](drills.md#fault-mode)); nothing was sent to the endpoint and it was not blamed. Seen by a client only when no retry could take the request elsewhere.',
};
