/**
 * The rows of the configuration reference, read off the zod schema itself: each key's path, type (with
 * its range or allowed values), default and whether it is required. Zod 4 keeps every schema's definition
 * in `_zod.def`; this module reads only that, and the `docType` the schema's helpers attach with `.meta()`
 * where the structure alone cannot say what a value is (a duration, a path, a host), or the `docDefault`
 * of an optional key whose absence means something (an endpoint's id).
 */
import { globalRegistry, type ZodType } from 'zod';
import { formatDurationMs } from '../util/duration.js';

export interface KeyRow {
  /** `listen.port`, `regions[].endpoints[].url`. */
  readonly key: string;
  readonly type: string;
  /** Markdown: `8080`, "none", "required". */
  readonly default: string;
  /** The key's `.describe()` text in the schema, if any (src/docs/config-key-docs.ts wins over it). */
  readonly description: string | undefined;
}

interface Def {
  readonly type: string;
  readonly [field: string]: unknown;
}
interface Check {
  readonly _zod: { readonly def: { readonly check: string; readonly value?: unknown; readonly inclusive?: boolean; readonly format?: string; readonly minimum?: number } };
}

const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const checksOf = (d: Def): readonly Check[] => (d.checks as Check[] | undefined) ?? [];
/** `docType` (what the value is) or `docDefault` (what an unset key means) from the schema's `.meta()`. */
const metaOf = (s: unknown, field: 'docType' | 'docDefault' | 'description'): string | undefined => {
  const meta = globalRegistry.get(s as ZodType) as Record<string, unknown> | undefined;
  return typeof meta?.[field] === 'string' ? meta[field] : undefined;
};

/** A schema with its wrappers (default, optional, preprocess) peeled off, and what they said. */
interface Unwrapped {
  readonly core: unknown;
  readonly docType: string | undefined;
  readonly docDefault: string | undefined;
  readonly description: string | undefined;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly optional: boolean;
}

function unwrap(schema: unknown): Unwrapped {
  let s = schema;
  let docType: string | undefined;
  let docDefault: string | undefined;
  let description: string | undefined;
  let hasDefault = false;
  let defaultValue: unknown;
  let optional = false;
  for (;;) {
    docType ??= metaOf(s, 'docType');
    docDefault ??= metaOf(s, 'docDefault');
    description ??= metaOf(s, 'description');
    const d = defOf(s);
    if (d.type === 'default' || d.type === 'prefault') {
      if (!hasDefault && d.type === 'default') {
        hasDefault = true;
        defaultValue = d.defaultValue;
      }
      s = d.innerType;
    } else if (d.type === 'optional') {
      optional = true;
      s = d.innerType;
    } else if (d.type === 'pipe') {
      // A preprocess is transform → schema (the schema says the type); a parse-then-convert is schema → transform.
      s = defOf(d.in).type === 'transform' ? d.out : d.in;
    } else return { core: s, docType, docDefault, description, hasDefault, defaultValue, optional };
  }
}

const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

/** The type column: a docType, or what the definition says (with its range or values). */
function typeText(u: Unwrapped): string {
  if (u.docType !== undefined) return u.docType;
  const d = defOf(u.core);
  switch (d.type) {
    case 'number': {
      const checks = checksOf(d).map((c) => c._zod.def);
      const integer = checks.some((c) => c.check === 'number_format' && c.format === 'safeint');
      const min = checks.find((c) => c.check === 'greater_than')?.value;
      const max = checks.find((c) => c.check === 'less_than')?.value;
      const range = min !== undefined && max !== undefined ? ` ${String(min)}..${String(max)}` : min !== undefined ? ` ≥ ${String(min)}` : '';
      return `${integer ? 'integer' : 'number'}${range}`;
    }
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'literal':
      return (d.values as unknown[]).map(code).join(' \\| ');
    case 'enum':
      return Object.values(d.entries as Record<string, unknown>).map(code).join(' \\| ');
    case 'array': {
      const min = checksOf(d).find((c) => c._zod.def.check === 'min_length')?._zod.def.minimum;
      const element = unwrap(d.element);
      const what = defOf(element.core).type === 'object' ? `\`{${Object.keys(defOf(element.core).shape as object).join(', ')}}\`` : typeText(element);
      return `list of ${what}${min !== undefined && min > 0 ? `, at least ${min}` : ''}`;
    }
    case 'record':
      return `map of ${typeText(unwrap(d.keyType))} to ${typeText(unwrap(d.valueType))}`;
    case 'union':
      return [...new Set((d.options as unknown[]).map((o) => typeText(unwrap(o))))].join(' \\| ');
    case 'object':
      return 'map';
    default:
      return d.type;
  }
}

function defaultText(u: Unwrapped): string {
  if (u.docDefault !== undefined) return u.docDefault;
  if (!u.hasDefault) return u.optional ? 'none' : 'required';
  const v = u.defaultValue;
  if (typeof v === 'number' && u.docType?.startsWith('duration')) return code(formatDurationMs(v));
  return code(v);
}

const isObject = (u: Unwrapped): boolean => defOf(u.core).type === 'object';
const objectOptions = (u: Unwrapped): Unwrapped[] | undefined => {
  const d = defOf(u.core);
  if (d.type !== 'union') return undefined;
  const options = (d.options as unknown[]).map(unwrap);
  return options.every(isObject) ? options : undefined;
};
const shapeOf = (u: Unwrapped): [string, unknown][] => Object.entries(defOf(u.core).shape as Record<string, unknown>);

/** An object whose fields hold more objects (a region, an endpoint) gets a row per field; a flat one is one row. */
function isNested(u: Unwrapped): boolean {
  return shapeOf(u).some(([, f]) => {
    const fu = unwrap(f);
    const fd = defOf(fu.core);
    return fd.type === 'object' || objectOptions(fu) !== undefined || (fd.type === 'array' && isObject(unwrap(fd.element)));
  });
}

/** Every documented key of `schema`, in schema order. */
export function schemaRows(schema: unknown, prefix = ''): KeyRow[] {
  const u = unwrap(schema);
  const d = defOf(u.core);
  const at = (k: string): string => (prefix === '' ? k : `${prefix}.${k}`);
  return d.type === 'object' ? shapeOf(u).flatMap(([k, f]) => fieldRows(f, at(k))) : [];
}

function fieldRows(field: unknown, key: string): KeyRow[] {
  const u = unwrap(field);
  const d = defOf(u.core);
  if (d.type === 'object') return schemaRows(field, key);
  const options = objectOptions(u);
  if (options !== undefined) {
    const names = options.flatMap((o) => shapeOf(o).map(([k]) => k));
    return [
      { key, type: `one of ${names.map(code).join(', ')}`, default: defaultText(u), description: u.description },
      ...options.flatMap((o) => shapeOf(o).flatMap(([k, f]) => fieldRows(f, `${key}.${k}`))),
    ];
  }
  if (d.type === 'array') {
    const element = unwrap(d.element);
    if (isObject(element) && isNested(element))
      return [{ key, type: typeText(u).replace(/^list of `\{[^}]*\}`/, 'list'), default: defaultText(u), description: u.description }, ...schemaRows(d.element, `${key}[]`)];
  }
  return [{ key, type: typeText(u), default: defaultText(u), description: u.description }];
}
