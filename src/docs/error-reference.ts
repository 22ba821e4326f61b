/**
 * docs/errors.md, generated (`npm run docs`): one row per code of ERROR_CODES (code, status, message)
 * with its note from ERROR_NOTES, the exact body a client gets, and the codes that are not HTTP answers.
 */
import { ConfigError, ERROR_CODES, GatewayError, ListenError, UsageError, type ErrorCode } from '../errors.js';
import { GENERATED_NOTE } from './config-reference.js';
import { ERROR_NOTES } from './error-notes.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function renderErrorsDoc(): string {
  const body = JSON.stringify(new GatewayError('RG_ERR_NO_ENDPOINT').toJSON());
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map(
    (code) => `| \`${code}\` | ${ERROR_CODES[code].status} | ${cell(ERROR_CODES[code].message)} | ${ERROR_NOTES[code]} |`,
  );
  return [
    '# Error codes',
    '',
    GENERATED_NOTE('src/errors.ts (codes, statuses, messages) and src/docs/error-notes.ts (when and what to do)'),
    '',
    'A gateway-made error has an OpenAI-style JSON body, so OpenAI client libraries surface it as usual:',
    '',
    '```json',
    body,
    '```',
    '',
    'The `code` is stable (it is also sent in the `x-regiongate-error` header). The `message` may change.',
    '',
    '| code | HTTP | meaning | when it happens / what the client should do |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '## Errors of the process, not of a request',
    '',
    '| code | error | exit code | when |',
    '| --- | --- | --- | --- |',
    `| \`${new ConfigError([]).code}\` | \`ConfigError\` | 2 | The configuration is invalid: every key path and reason is printed at once (see [configuration.md](configuration.md)). |`,
    `| \`${new ListenError('main', '127.0.0.1', 0, undefined).code}\` | \`ListenError\` | 1 | A listener cannot bind; the error names the listener and its address. |`,
    `| \`${new UsageError('').code}\` | \`UsageError\` | 64 | The command line is wrong (unknown command or option, missing argument); the command's usage follows. |`,
    '',
  ].join('\n');
}
