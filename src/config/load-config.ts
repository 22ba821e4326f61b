/**
 * Loading and validating configuration: YAML or JSON, `${ENV}` substitution, schema defaults, every
 * problem reported at once as `key.path[1]: reason`, then the result deep-frozen.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type GatewayConfig } from './schema.js';
import { substituteEnv, type Env } from './substitute-env.js';

/** Read, substitute, validate and freeze a config file. Throws `ConfigError` listing every problem. */
export function loadConfigFile(file: string, env: Env = process.env): GatewayConfig {
  return parseConfigText(readConfigText(file), file, env);
}

/** The text of a config file; throws `ConfigError` when it cannot be read. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read file: ${(err as Error).message}`], file);
  }
}

/**
 * Parse (YAML, or JSON for a `.json` name), substitute, validate and freeze the text of config `file`
 * (a `--workers` reload: the primary reads the file once and every worker applies that same text).
 */
export function parseConfigText(text: string, file: string, env: Env = process.env): GatewayConfig {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([`cannot parse ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`], file);
  }
  return resolveConfig(doc ?? {}, env, file);
}

/** Validate an already-parsed config document (tests, the demo, embedding users). */
export function resolveConfig(doc: unknown, env: Env = process.env, source?: string): GatewayConfig {
  const issues: string[] = [];
  const substituted = substituteEnv(doc, env, issues);
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    // A key whose variable is missing already has its error: the schema's complaint about it is noise.
    const unset = new Set(issues.map((i) => i.slice(0, i.indexOf(': '))));
    for (const line of result.error.issues.flatMap(formatIssue)) if (!unset.has(line.slice(0, line.indexOf(': ')))) issues.push(line);
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, source);
  return deepFreeze(result.data);
}

/** `['regions', 1, 'endpoints', 0, 'url']` → `regions[1].endpoints[0].url`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
  let message = issue.message;
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required';
  return [`${formatPath(issue.path)}: ${message}`];
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const v of Object.values(obj)) deepFreeze(v);
  }
  return obj;
}
