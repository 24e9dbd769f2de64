/** brine's exit codes (Salt's numbers where Salt defines them). */
export const EXIT = {
  /** The call succeeded. */
  OK: 0,
  /** The call failed: an error raised, an unknown function, bad arguments, no connection. */
  ERROR: 1,
  /** Bad command line or config file (nothing was run). */
  USAGE: 2,
  /** Pillar failed to compile (state runs). */
  PILLAR_FAILURE: 5,
  /** Interrupted by SIGINT (^C) / terminated by SIGTERM. */
  SIGINT: 130,
  SIGTERM: 143,
} as const
