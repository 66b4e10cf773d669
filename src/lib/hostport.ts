// Addresses as Go's net.JoinHostPort prints them in the reference's log lines: IPv6 in brackets.

export function joinHostPort(host: string | undefined, port: number | undefined): string {
  const h = host ?? '';
  return `${h.includes(':') ? `[${h}]` : h}:${port ?? ''}`;
}
