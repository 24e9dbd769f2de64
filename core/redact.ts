/**
 * The one place where secrets are masked. The logger, the SOAP tracer, error formatting and
 * the outputters all pass text through `redact()`.
 *
 * Two layers: known values (every Secret registers itself), and patterns for secrets that
 * arrive from a peer before we could register them (cookies in headers, passwords and
 * tickets inside SOAP bodies).
 */
const MASK = '***'
const MIN_SECRET_LENGTH = 4
const MAX_SECRETS = 4096
const known = new Set<string>()

const PATTERNS: Array<[RegExp, string]> = [
  // SOAP: <password>…</password>, <ticket>…</ticket>, <sessionId>…</sessionId>, <vcSessionCookie>…
  [
    /<((?:[\w-]+:)?(?:password|ticket|sessionId|token|cookie|vcSessionCookie))(\s[^>]*)?>[^<]*<\/\1>/gi,
    `<$1$2>${MASK}</$1>`,
  ],
  // HTTP: vmware_soap_session=…; vmware-api-session-id: …
  [/(vmware_soap_session=)("?)[^";,\s]+\2/gi, `$1${MASK}`],
  [/(vmware-api-session-id["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, `$1${MASK}`],
  [/((?:^|\n|")(?:cookie|set-cookie|authorization)["']?\s*[:=]\s*["']?)[^"\n]+/gi, `$1${MASK}`],
  // key=value forms in messages and URLs: password=…, pwd=…
  [/\b(password|passwd|pwd|ticket|token)(["']?\s*[=:]\s*["']?)([^\s"',&}]+)/gi, `$1$2${MASK}`],
  // brine console tokens (console/tokens.ts), wherever they appear
  [/\bbrc_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, MASK],
  // user:password@host in URLs
  [/(\w+:\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${MASK}@`],
]

/** Remember a secret value so that `redact()` masks it wherever it appears. */
export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || known.has(value)) return
  if (known.size >= MAX_SECRETS) {
    // Oldest first: a Set iterates in insertion order.
    const oldest = known.values().next().value
    if (oldest !== undefined) known.delete(oldest)
  }
  known.add(value)
}

/** Mask every secret in `text`. */
export function redact(text: string): string {
  let out = text
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join(MASK)
  }
  for (const [pattern, replacement] of PATTERNS) {
    out = out.replace(pattern, replacement)
  }
  return out
}
