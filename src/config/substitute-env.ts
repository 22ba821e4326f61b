/**
 * `${VAR}` and `${VAR:-default}` substitution in every string value of a parsed config document.
 * Substituting after parsing (not in the raw text) means an env value can never change the document's
 * structure. `$${` escapes a literal `${`.
 */
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

/** Returns a copy of `doc` with variables substituted; missing variables are reported with their path. */
export function substituteEnv(doc: unknown, env: Env, issues: string[], path = ''): unknown {
  if (typeof doc === 'string') {
    return doc.replace(PATTERN, (whole, name: string | undefined, def: string | undefined) => {
      if (name === undefined) return '${';
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (def !== undefined) return def;
      issues.push(`${path || '(root)'}: environment variable ${name} is not set`);
      return whole;
    });
  }
  if (Array.isArray(doc)) return doc.map((v, i) => substituteEnv(v, env, issues, `${path}[${i}]`));
  if (doc !== null && typeof doc === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) out[k] = substituteEnv(v, env, issues, path ? `${path}.${k}` : k);
    return out;
  }
  return doc;
}
