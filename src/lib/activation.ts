// systemd socket activation (sd_listen_fds(3)), as the reference reads it through go-systemd:
// the descriptors from 3 on, LISTEN_FDS of them, meant for us only when LISTEN_PID is our PID.

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

/**
 * The descriptors passed to this process; none when the variables are missing, malformed or
 * meant for another process (a parent that was activated and forgot to unset them).
 */
export function activationFds(env: NodeJS.ProcessEnv, pid: number): number[] {
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== pid) return [];
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1) return [];
  return Array.from({ length: count }, (_, i) => FIRST_FD + i);
}

/** Unsets the variables, so that processes we start do not take the descriptors for theirs. */
export function clearActivationEnv(env: NodeJS.ProcessEnv): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}
