// Console tokens: 256 random bits, shown to the user once. brine keeps only their SHA-256
// hash, and the connection target (which holds the vCenter ticket) sealed with a key derived
// from the token, so the database alone opens no console.
//
// Tokens read `brc_` + 43 base64url characters: the prefix lets the redactor recognise one in
// free text, as GitHub's `ghp_` tokens are.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'

export const TOKEN_PREFIX = 'brc_'
export const TOKEN_PATTERN = /\bbrc_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g
const TOKEN_SHAPE = /^brc_[A-Za-z0-9_-]{43}$/

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
}

/** True when `value` has a token's shape (says nothing about validity). */
export function looksLikeToken(value: string): boolean {
  return TOKEN_SHAPE.test(value)
}

/** The stored form of a token: SHA-256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Constant-time comparison of two token hashes (hex). */
export function hashesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right)
}

// Seal: AES-256-GCM under HKDF-SHA256(token, salt = record id). The record id binds the
// sealed text to its record: a sealed target copied to another row does not open.
const SEAL_INFO = 'brine console target v1'

function sealKey(token: string, id: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, id, SEAL_INFO, 32))
}

export function seal(plaintext: string, token: string, id: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', sealKey(token, id), iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')
}

/** The sealed text, or undefined when the token or record id does not open it. */
export function unseal(sealed: string, token: string, id: string): string | undefined {
  const data = Buffer.from(sealed, 'base64')
  if (data.length < 12 + 16) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(token, id), data.subarray(0, 12))
    decipher.setAuthTag(data.subarray(data.length - 16))
    return Buffer.concat([
      decipher.update(data.subarray(12, data.length - 16)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    return undefined
  }
}
