/**
 * The one place where secrets are masked. Two entry points:
 *
 * - `redactValue()` masks a value before it is formatted (the outputters): Secret instances,
 *   everything under a secret-looking key (`password`, `token`, …), and known secret values
 *   in every string. Formatting comes after, so no escaping (JSON, YAML, Python repr) can
 *   hide a secret from the masking.
 * - `redact()` masks free text (log lines, error messages, SOAP traces): known secret values
 *   where they stand as a whole token, in their raw, JSON-, Python-, XML- and URL-escaped
 *   forms, and patterns for secrets that arrive from a peer before we could register them
 *   (cookies in headers, passwords and tickets inside SOAP bodies).
 *
 * A known value is masked only as a whole token: where the value begins (ends) with a letter,
 * digit or `_`, the text before (after) it must not continue the token, with such a character
 * or with `.`/`-` followed by one. A password that is a common word (`vmware`, `present`)
 * then masks `vmware` but leaves `vmware_datacenter.present` alone, which would otherwise
 * both garble the output and tell the reader the password. A secret inside a longer
 * identifier is not masked there: structural masking (`redactValue()`) is what guarantees
 * that results never show one.
 */
const MASK = '***'
const MAX_SECRETS = 4096
/** Known values, each with its escaped forms. */
const known = new Map<string, string[]>()

/**
 * Keys whose values are secrets, in config, pillar, results and arguments. `product_key`: a
 * Windows product key (customization's windows.product_key), which an argument error would
 * otherwise echo when it is given as a number.
 */
const SECRET_KEY =
  /(?:password|passwd|passphrase|secret|token|ticket|cookie|session_?id|api_?key|private_?key|product_?key)$|(?:^|[^a-z])(?:pass|pwd)$/i

/** True for keys such as `password`, `client_secret`, `vcSessionCookie`, `api_token`. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key)
}

const PATTERNS: Array<[RegExp, string]> = [
  // SOAP: <password>…</password>, <ticket>…</ticket>, <sessionId>…</sessionId>, <vcSessionCookie>…
  [
    /<((?:[\w-]+:)?(?:password|ticket|sessionId|token|cookie|vcSessionCookie))(\s[^>]*)?>[^<]*<\/\1>/gi,
    `<$1$2>${MASK}</$1>`,
  ],
  // SOAP: a vim25 CustomizationPassword (<password> and <domainAdminPassword> holding
  // <value>…</value><plainText>…) and a sysprep product key, <productId>…</productId>
  [
    /<((?:[\w-]+:)?(?:password|domainAdminPassword))(\s[^>]*)?>(\s*<((?:[\w-]+:)?value)(?:\s[^>]*)?>)[^<]*<\/\4>/gi,
    `<$1$2>$3${MASK}</$4>`,
  ],
  [/<((?:[\w-]+:)?productId)(\s[^>]*)?>[^<]*<\/\1>/gi, `<$1$2>${MASK}</$1>`],
  // SOAP: a CustomizationSysprepText identity, a whole Sysprep answer file (unattend.xml),
  // which holds the administrator and domain passwords and the product key
  [
    /(<((?:[\w-]+:)?identity)\s[^>]*CustomizationSysprepText[^>]*>\s*<((?:[\w-]+:)?value)(?:\s[^>]*)?>)[^<]*(<\/\3>)/gi,
    `$1${MASK}$4`,
  ],
  // HTTP: vmware_soap_session=…; vmware-api-session-id: …
  [/(vmware_soap_session=)("?)[^";,\s]+\2/gi, `$1${MASK}`],
  [/(vmware-api-session-id["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, `$1${MASK}`],
  [/((?:^|\n|")(?:cookie|set-cookie|authorization)["']?\s*[:=]\s*["']?)[^"\n]+/gi, `$1${MASK}`],
  // key=value forms in messages and URLs: password=…, pwd=…, and names ending so, as a
  // guest's environment variables are sent (<envVariables>DB_PASSWORD=…</envVariables>)
  [
    /(?<![A-Za-z0-9])(password|passwd|pass|pwd)(["']?\s*[=:]\s*["']?)([^\s"',&}<]+)/gi,
    `$1$2${MASK}`,
  ],
  // environment-style NAME_SECRET=…, NAME_TOKEN=…, NAME_API_KEY=… (only after a `_`-joined
  // name and `=`, so that "unexpected token: %}" stays)
  [
    /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+_)+(?:secret|token|api_?key|private_?key)=)([^\s"',&}<]+)/gi,
    `$1${MASK}`,
  ],
  // ticket=…, token: …: only an actual token value (six or more token characters, starting
  // with a letter or digit), never the parser's "unexpected token: %}" or "expected token end".
  [
    /(?<!expected )\b(ticket|token)(["']?\s*[=:]\s*["']?)([A-Za-z0-9][\w.~+/=-]{5,})/gi,
    `$1$2${MASK}`,
  ],
  // brine console tokens (console/tokens.ts), wherever they appear
  [/\bbrc_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, MASK],
  // user:password@host in URLs; the user may be empty (https://:password@host)
  [/(\w+:\/\/[^/\s:@]*:)[^@\s/]+@/g, `$1${MASK}@`],
]

/** Text none of the patterns can match skips them (most strings of a large result). */
const MAY_MATCH_PATTERN =
  /pass|pwd|ticket|token|cookie|session|authorization|brc_|productid|sysprep|secret|key=|@/i

/** The forms a value takes in text: raw, JSON, Python/inspect repr, XML, URL-encoded. */
function escapedForms(value: string): string[] {
  const forms = new Set<string>([value])
  forms.add(JSON.stringify(value).slice(1, -1))
  forms.add(value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n'))
  // util.inspect quotes with " or ` when the value holds ': backslashes doubled, ' as is.
  forms.add(value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n'))
  // YAML single-quoted: ' doubled.
  forms.add(value.replaceAll("'", "''"))
  forms.add(
    value
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .replaceAll('"', '&quot;')
      .replaceAll("'", '&apos;'),
  )
  forms.add(value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'))
  const url = encodeURIComponent(value)
  forms.add(url)
  forms.add(url.replaceAll('%20', '+'))
  const strict = url.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  forms.add(strict)
  forms.add(strict.replaceAll('%20', '+'))
  forms.add(url.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()))
  // Longest first: a form that contains another is masked whole.
  return [...forms].filter((form) => form.length > 0).sort((a, b) => b.length - a.length)
}

/** Remember a secret value so that `redact()` and `redactValue()` mask it wherever it stands. */
export function registerSecret(secret: string | number | bigint): void {
  // A password typed by YAML as a number is the same secret as its digits.
  const value = typeof secret === 'string' ? secret : String(secret)
  if (value.length === 0 || known.has(value)) return
  if (known.size >= MAX_SECRETS) {
    // Oldest first: a Map iterates in insertion order.
    const oldest = known.keys().next().value
    if (oldest !== undefined) known.delete(oldest)
  }
  known.set(value, escapedForms(value))
}

/** Forget every registered value (tests). */
export function clearSecrets(): void {
  known.clear()
}

// A token continues through a letter, digit or `_`, and through `.` or `-` between two of
// them: `vmware_datacenter.present`, `vc-01.example.com` are one token each. Made on first
// use: V8 builds the Unicode classes when it creates a regex, ~1 ms of every start.
let tokenRegexes: { word: RegExp; joinedBefore: RegExp; joinedAfter: RegExp } | undefined
function tokens(): NonNullable<typeof tokenRegexes> {
  tokenRegexes ??= {
    word: /[\p{L}\p{N}\p{M}_]/u,
    joinedBefore: /(?:[\p{L}\p{N}\p{M}_]|[\p{L}\p{N}\p{M}_][.-])$/u,
    joinedAfter: /^(?:[\p{L}\p{N}\p{M}_]|[.-][\p{L}\p{N}\p{M}_])/u,
  }
  return tokenRegexes
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && tokens().word.test(char)
}

/** Replace whole-token occurrences of `form` in `text` by the mask. */
function maskToken(text: string, form: string): string {
  let index = text.indexOf(form)
  if (index < 0) return text
  const chars = [...form]
  const needLeft = isWordChar(chars[0])
  const needRight = isWordChar(chars[chars.length - 1])
  let out = ''
  let from = 0
  while (index >= 0) {
    const end = index + form.length
    if (
      (!needLeft || !tokens().joinedBefore.test(text.slice(Math.max(0, index - 4), index))) &&
      (!needRight || !tokens().joinedAfter.test(text.slice(end, end + 4)))
    ) {
      out += text.slice(from, index) + MASK
      from = end
      index = text.indexOf(form, from)
    } else {
      index = text.indexOf(form, index + 1)
    }
  }
  return out + text.slice(from)
}

/** Whether redact() could change `text`: a known form stands in it, or a pattern may match. */
function mayHoldSecret(text: string): boolean {
  for (const forms of known.values()) for (const form of forms) if (text.includes(form)) return true
  return MAY_MATCH_PATTERN.test(text)
}

/** Mask every secret in free text (see the module comment for what is masked). */
export function redact(text: string): string {
  let out = text
  for (const forms of known.values()) {
    for (const form of forms) if (out.includes(form)) out = maskToken(out, form)
  }
  if (!MAY_MATCH_PATTERN.test(out)) return out
  for (const [pattern, replacement] of PATTERNS) {
    out = out.replace(pattern, replacement)
  }
  return out
}

export interface RedactValueOptions {
  /** What an `Issued` value becomes (default: its JSON form, `[issued]`). */
  issued?: (value: { reveal(): string; toJSON(): string }) => unknown
}

/**
 * A plain, JSON-like copy of `value` with every secret masked: Secret instances, every scalar
 * under a secret-looking key (at any depth below it), known secret values in strings (as
 * whole tokens, see `redact()`), and keys that are a known secret (see `redactKey()`). Dates and other `toJSON` objects become their JSON form; undefined becomes null.
 */
export function redactValue(value: unknown, options: RedactValueOptions = {}): unknown {
  return walk(value, false, options, new Set())
}

function walk(
  value: unknown,
  secret: boolean,
  options: RedactValueOptions,
  seen: Set<object>,
): unknown {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') return secret ? MASK : redact(value)
  if (typeof value === 'number')
    return secret || known.has(String(value)) ? MASK : Number.isFinite(value) ? value : null
  if (typeof value === 'boolean') return secret ? MASK : value
  if (typeof value === 'bigint') return secret || known.has(String(value)) ? MASK : String(value)
  if (typeof value !== 'object') return null
  if (isSecretInstance(value)) return MASK
  if (isIssued(value)) return options.issued ? options.issued(value) : value.toJSON()
  if (seen.has(value)) return null
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      // A list of text (5,000 VM names) is looked at as one text first: what is in none of
      // it is in none of its items, and redact() leaves an item without it as it is.
      if (!secret && value.length > 1 && isTextList(value) && !mayHoldSecret(value.join('\n')))
        return value.slice()
      return value.map((item) => walk(item, secret, options, seen))
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return walk(toJSON.call(value), secret, options, seen)
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'function' || typeof item === 'symbol') continue
      // Two masked keys must not overwrite each other.
      let shown = redactKey(key)
      for (let n = 2; shown !== key && Object.hasOwn(out, shown); n++)
        shown = `${redactKey(key)} (${n})`
      out[shown] = walk(item, secret || isSecretKey(key), options, seen)
    }
    return out
  } finally {
    seen.delete(value)
  }
}

function isTextList(list: unknown[]): list is string[] {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return false
  return true
}

/**
 * Keys are structure, not text: a key is masked only when it is a known secret as a whole.
 * A state tag (`module_|-id_|-name_|-function`) has its id and name masked as free text;
 * its module and function are names of code and stay (a password `present` must not turn
 * `vmware_datacenter_|-dc_|-dc_|-present` into `…_|-***`).
 */
export function redactKey(key: string): string {
  for (const forms of known.values()) if (forms.includes(key)) return MASK
  const parts = key.split('_|-')
  if (parts.length === 4)
    return [parts[0], redact(parts[1]!), redact(parts[2]!), parts[3]].join('_|-')
  return key
}

/** Brands of core/secret.ts's classes (symbols, so that this module need not import it). */
export const SECRET_BRAND = Symbol.for('brine.Secret')
export const ISSUED_BRAND = Symbol.for('brine.Issued')

function isSecretInstance(value: object): boolean {
  return SECRET_BRAND in value
}

function isIssued(value: object): value is { reveal(): string; toJSON(): string } {
  return ISSUED_BRAND in value
}
