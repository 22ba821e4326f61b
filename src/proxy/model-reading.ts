/**
 * What a body says about the model it asks for, as the readers of `body-model-reader.ts` report it. The
 * three answers matter for data residency: `absent` routes like any request without a model, `model`
 * routes on that name, and `undetermined` means an upstream might read a model the gateway cannot be sure
 * of, so it fails closed where route rules name models.
 */

export type ModelReading =
  // `span`: where the model string lies in a JSON body (quotes included), when it may be rewritten there.
  | { readonly kind: 'model'; readonly model: string; readonly span?: readonly [number, number] }
  | { readonly kind: 'absent' }
  | { readonly kind: 'undetermined'; readonly reason: string };

/** The longest model value kept, in UTF-8 bytes; a longer one is undetermined (no model id is that long). */
export const MODEL_MAX_BYTES = 1024;

export const ABSENT: ModelReading = Object.freeze({ kind: 'absent' });

export function undetermined(reason: string): ModelReading {
  return { kind: 'undetermined', reason };
}

/** Whether two readings name the same thing (used where a body can be read two ways). */
export function sameReading(a: ModelReading, b: ModelReading): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'model' || a.model === (b as { model: string }).model;
}
