/**
 * Secrets never enter logs, records or histories. `redact` is the one filter everything that is
 * printed or recorded goes through: values under names that look sensitive, credentials in URLs,
 * bearer tokens, and the values of sensitive environment variables wherever they appear.
 */
export const REDACTED = '[redacted]';

/**
 * Deliberately broad (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, TEMPEST_PAYLOAD_KEY(S),
 * TEMPEST_CODEC_TOKEN, DB_PASSWORD, ...): hiding a harmless value costs less than printing a key.
 */
const SENSITIVE = 'secret|token|passw(?:or)?d|pwd|credential|key';
const SENSITIVE_NAME = new RegExp(SENSITIVE, 'i');

/** Names that match the pattern but hold locations, not secrets: the shell's working directories, paths to key files. */
const LOCATION_NAME = /^(?:OLD)?PWD$|_(?:FILE|PATH|DIR)$/i;

export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name) && !LOCATION_NAME.test(name);
}

// scheme://user:password@host and scheme://token@host (anything before '@' in the authority).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi;
// NAME=value (env assignments, query strings) and "name": "value" (JSON) for sensitive names. A
// bare "name: value" is left alone: prose such as "PayloadKey: payload was..." reads like that.
const ASSIGNMENT = new RegExp(`\\b([\\w.-]*(?:${SENSITIVE})[\\w.-]*=)([^\\s"',;&]+)`, 'gi');
const JSON_FIELD = new RegExp(`("[^"]*(?:${SENSITIVE})[^"]*"\\s*:\\s*)"[^"]*"`, 'gi');
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
/** Short values (say "1" or "true") would redact every digit of a message; real secrets are longer. */
const MIN_SECRET_LENGTH = 8;

/**
 * Secrets this process read from files (a Temporal API key from --api-key-file): unlike those in
 * sensitive environment variables, nothing about their name marks them, so they are registered.
 */
const registeredSecrets = new Set<string>();

/** Redact `value` wherever it appears from now on, in this process. */
export function addSecret(value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) registeredSecrets.add(value);
}

function sensitiveEnvValues(env: NodeJS.ProcessEnv): string[] {
  return [
    ...Object.entries(env)
      .filter(
        ([name, value]) => isSensitiveName(name) && value !== undefined && value.length >= MIN_SECRET_LENGTH,
      )
      .map(([, value]) => value!),
    ...registeredSecrets,
  ].sort((a, b) => b.length - a.length);
}

/** A string with every secret it carries replaced by "[redacted]". */
export function redactText(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const secret of sensitiveEnvValues(env)) out = out.split(secret).join(REDACTED);
  return out
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(ASSIGNMENT, `$1${REDACTED}`)
    .replace(JSON_FIELD, `$1"${REDACTED}"`);
}

/**
 * A deep copy of `value` with sensitive entries redacted: values under sensitive names entirely,
 * every other string through redactText. Arrays and plain objects are walked; other values kept.
 */
export function redact<T>(value: T, env: NodeJS.ProcessEnv = process.env): T {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redactText(item, env);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
      return Object.fromEntries(
        Object.entries(item).map(([name, entry]) => [
          name,
          isSensitiveName(name) && entry !== null && typeof entry !== 'object' ? REDACTED : walk(entry),
        ]),
      );
    }
    return item;
  };
  return walk(value) as T;
}
