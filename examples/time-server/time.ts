// The seeds' socket time server, as RPC: `celeriac serve examples/time-server/time.ts --tcp :4242` serves
// these exported functions; any client calls them by name (`celeriac rpc call tcp://127.0.0.1:4242 ctime`).

/** The server's time as text, like Python's time.ctime(). */
export function ctime(): string {
  return new Date().toString();
}

/** The server's time in a time zone (IANA name, default UTC), ISO-like, with the zone's offset. */
export function now({ tz = 'UTC' }: { tz?: string } = {}): { iso: string; zone: string; text: string } {
  const date = new Date();
  let text: string;
  try {
    text = new Intl.DateTimeFormat('en-GB', { timeZone: tz, dateStyle: 'full', timeStyle: 'long' }).format(date);
  } catch {
    throw new RangeError(`unknown time zone '${tz}': use an IANA name such as 'Europe/Paris' or 'Asia/Shanghai'`);
  }
  return { iso: date.toISOString(), zone: tz, text };
}

/** Milliseconds since the epoch on the server, for clock-offset estimates. */
export function epochMs(): number {
  return Date.now();
}
