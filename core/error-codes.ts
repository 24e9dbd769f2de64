// Every error code brine raises, with what it means and the exit code the CLI gives it. A code
// thrown anywhere must be here (test/error-codes.test.ts reads the sources to check), and the
// README's error code table is this list.

/** Exit codes by name (Salt's numbers where Salt defines them). */
export const EXIT_CODES = { error: 1, usage: 2 } as const

export interface ErrorCodeInfo {
  meaning: string
  /** `usage` (2): nothing was run, the command line or configuration is wrong; else `error` (1). */
  exit: keyof typeof EXIT_CODES
}

export const ERROR_CODES = {
  BRINE_ERROR: { meaning: 'an error with no code of its own', exit: 'error' },
  BRINE_USAGE: { meaning: 'a bad command line (unknown flag, missing function)', exit: 'usage' },
  BRINE_CONFIG: {
    meaning: 'a bad option or config file value, named with its file and key',
    exit: 'usage',
  },
  BRINE_ARGUMENT: {
    meaning: 'a bad argument to a function: unknown, missing, wrong type',
    exit: 'error',
  },
  BRINE_FUNCTION_UNAVAILABLE: {
    meaning: 'no such function, or its module refused to load here (__virtual__)',
    exit: 'error',
  },
  BRINE_MODULE_LOAD: { meaning: 'a module failed to compile or evaluate', exit: 'error' },
  BRINE_MODULE: { meaning: 'raised by a module function', exit: 'error' },
  BRINE_COMMAND: { meaning: 'a cmd.* command failed to start or run', exit: 'error' },
  BRINE_TEST_EXCEPTION: { meaning: 'test.exception raised it, on purpose', exit: 'error' },
  BRINE_RESULT: {
    meaning:
      'a function returned a value that cannot be shown (it contains itself, or is nested too deep)',
    exit: 'error',
  },
  BRINE_OUTPUT: { meaning: 'the result could not be written (--out-file)', exit: 'error' },
  BRINE_PILLAR: {
    meaning: 'pillar failed to compile; the message names the file and line (state runs: exit 5)',
    exit: 'error',
  },
  BRINE_SESSION_STORE: {
    meaning: 'the persistent session store is unusable (permissions, a damaged file)',
    exit: 'error',
  },
  BRINE_SLS_RENDER: { meaning: 'an SLS file failed to render (Jinja or YAML)', exit: 'error' },
  BRINE_STATE_COMPILE: {
    meaning: 'SLS data failed to compile (requisites, declarations)',
    exit: 'error',
  },
  BRINE_NOT_FOUND: {
    meaning: 'an entity (or other named thing) does not exist; the message lists what does',
    exit: 'error',
  },
  BRINE_AMBIGUOUS: {
    meaning: 'several entities have that name; the message gives their paths and ids',
    exit: 'error',
  },
  BRINE_INVALID_STATE: {
    meaning: 'the object is not in a state that allows it (a VM not powered on, a rule in use)',
    exit: 'error',
  },
  BRINE_UNSUPPORTED: {
    meaning: 'not possible on this endpoint or version (e.g. ESXi users through vCenter)',
    exit: 'error',
  },
  BRINE_OVF: {
    meaning: 'an OVF/OVA package is unreadable or its deployment failed',
    exit: 'error',
  },
  BRINE_TAG_EXISTS: { meaning: 'a tag or category of that name exists already', exit: 'error' },
  BRINE_TAG_REST: { meaning: 'the tagging REST API refused a call', exit: 'error' },
  BRINE_VAPI_EXISTS: {
    meaning: 'a content library or library item of that name exists already',
    exit: 'error',
  },
  BRINE_VAPI_REST: { meaning: 'the vSphere Automation REST API refused a call', exit: 'error' },
  BRINE_THUMBPRINT_MISMATCH: {
    meaning: 'the server certificate does not match the pinned thumbprint; nothing was sent',
    exit: 'error',
  },
  BRINE_CONSOLE_TOKEN: { meaning: 'a console token is unknown, revoked or expired', exit: 'error' },
  BRINE_CONSOLE_BUSY: {
    meaning: 'the console port is connected already (one session per port)',
    exit: 'error',
  },
  BRINE_TIMEOUT: {
    meaning:
      'the call ran past its --timeout and was aborted (vCenter tasks it started are cancelled)',
    exit: 'error',
  },
  BRINE_DAEMON: {
    meaning: 'the brine daemon cannot serve: another daemon listens on the socket, or it went away',
    exit: 'error',
  },
  BRINE_DAEMON_UNSAFE: {
    meaning: "the daemon's directory or socket is not the user's own (0700/0600); it is not used",
    exit: 'error',
  },
  BRINE_CONSOLE_STORE: {
    meaning:
      'the console database (file or PostgreSQL server) is unreachable or unreadable; the message names it and the way out',
    exit: 'error',
  },
  BRINE_CONSOLE_SCHEMA: {
    meaning:
      'the console database has a newer schema than this brine knows, or tables brine did not make',
    exit: 'error',
  },
  BRINE_CONSOLE_DAMAGED: { meaning: 'one console record is damaged', exit: 'error' },
  BRINE_VIM_PARAMS: { meaning: 'a bad connection option', exit: 'error' },
  BRINE_VIM_CREDENTIALS: {
    meaning: 'no vSphere credentials found (saltext.vmware in config or pillar, or the env)',
    exit: 'error',
  },
  BRINE_VIM_NOT_CONNECTED: {
    meaning: 'a ServiceInstance property read before the proxy connected',
    exit: 'error',
  },
  BRINE_VIM_SESSION_CLOSED: { meaning: 'a call on a session brine logged out', exit: 'error' },
  BRINE_VIM_RECONNECT_FAILED: {
    meaning: 'no new session after the rebuild attempts',
    exit: 'error',
  },
  BRINE_VIM_OUTCOME_UNKNOWN: {
    meaning: 'the connection dropped after a call that changes something was sent: not retried',
    exit: 'error',
  },
  BRINE_VIM_TASK_FAILED: { meaning: 'a vSphere task ended in error', exit: 'error' },
  BRINE_VIM_TASK_GONE: { meaning: 'a task vanished before its outcome was seen', exit: 'error' },
  BRINE_VIM_UNSUPPORTED_VERSION: {
    meaning: 'the server’s API version is outside what brine speaks',
    exit: 'error',
  },
} as const satisfies Record<string, ErrorCodeInfo>

/**
 * Codes made from a vSphere name: `BRINE_VIM_<FAULT>` (`NotAuthenticated` →
 * `BRINE_VIM_NOT_AUTHENTICATED`, `InvalidPowerState` → `BRINE_VIM_INVALID_POWER_STATE`) and
 * `BRINE_VIM_TRANSPORT_<FAILURE>` (CONNECT_TIMEOUT, CONNECTION_REFUSED, …).
 */
export const ERROR_CODE_FAMILIES: Record<string, ErrorCodeInfo> = {
  BRINE_VIM_TRANSPORT_: {
    meaning: 'the connection failed: CONNECT_TIMEOUT, CONNECTION_REFUSED, CONNECTION_DROPPED, …',
    exit: 'error',
  },
  BRINE_VIM_: { meaning: 'vCenter answered with the fault of that name', exit: 'error' },
}

/** Codes that abort a run rather than describe an error (SIGINT/SIGTERM, exit 130/143). */
export const ABORT_CODES = ['BRINE_SIGINT', 'BRINE_SIGTERM'] as const

export type ErrorCode = keyof typeof ERROR_CODES

/** What `code` means, from the registry or its family; undefined for an unknown code. */
export function errorCodeInfo(code: string): ErrorCodeInfo | undefined {
  const known = (ERROR_CODES as Record<string, ErrorCodeInfo>)[code]
  if (known) return known
  for (const [prefix, info] of Object.entries(ERROR_CODE_FAMILIES))
    if (code.startsWith(prefix) && code.length > prefix.length) return info
  return undefined
}

/** The CLI's exit code for an error with `code`: 2 when nothing was run, else 1. */
export function exitCodeOf(code: string): number {
  return EXIT_CODES[errorCodeInfo(code)?.exit ?? 'error']
}
