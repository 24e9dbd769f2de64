import { inspect } from 'node:util'

/**
 * Every form a secret could take in text, for the tests that search outputs for it: raw,
 * JSON, util.inspect and Python reprs, YAML single-quoted, URL-encoded (strict and
 * lower-case hex), and XML/HTML-escaped.
 */
export function secretForms(secret: string): string[] {
  const url = encodeURIComponent(secret)
  return [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      inspect(secret).slice(1, -1),
      secret.replaceAll('\\', '\\\\').replaceAll("'", "\\'"),
      secret.replaceAll("'", "''"),
      url,
      url.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      url.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      secret
        .replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&apos;'),
      secret.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
      secret.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll("'", '&apos;'),
    ]),
  ]
}
