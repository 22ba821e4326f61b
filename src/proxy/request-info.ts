/**
 * What routing needs to know about a request, read from its headers and buffered body.
 */

/** The `model` of a JSON body, or undefined (not JSON, malformed, or no model: any endpoint may take it). */
export function requestModel(contentType: string | undefined, body: Buffer): string | undefined {
  if (body.length === 0 || contentType === undefined || !contentType.includes('json')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && 'model' in parsed) {
      const model = (parsed as { model: unknown }).model;
      return typeof model === 'string' && model.length > 0 ? model : undefined;
    }
  } catch {
    // Not ours to judge: the upstream answers a malformed body with its own 400.
  }
  return undefined;
}

/** Regions allowed by an `x-regiongate-regions: eu-west-1,europe-west4` header. */
export function requestRegions(header: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (header === undefined) return undefined;
  const set = new Set<string>();
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const name = part.trim();
    if (name) set.add(name);
  }
  return set.size > 0 ? set : undefined;
}
