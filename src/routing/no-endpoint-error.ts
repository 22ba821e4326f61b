/**
 * The error for a request no endpoint can take. An operator's drain (or fire drill) gets its own code,
 * naming the regions, so a client pinned to a drained region learns why instead of reading "no healthy
 * endpoint" and retrying in vain.
 */
import { GatewayError } from '../errors.js';
import type { PickRequest, Picker } from './picker.js';

/** `RG_ERR_ENDPOINTS_DRAINED` when every endpoint that could serve `req` is drained, else `RG_ERR_NO_ENDPOINT`. */
export function noEndpointError(picker: Picker, req: PickRequest): GatewayError {
  const miss = picker.explainMiss?.(req);
  if (miss?.reason !== 'drained') return new GatewayError('RG_ERR_NO_ENDPOINT');
  const regions = miss.regions.join(', ');
  return new GatewayError('RG_ERR_ENDPOINTS_DRAINED', {
    message: `Every regional endpoint that can serve this request is drained by an operator (region${miss.regions.length > 1 ? 's' : ''} ${regions}).`,
  });
}
