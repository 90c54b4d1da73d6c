/** Node names like Celery's: `-n w1@%h` expands %h (host), %n (host name before the first dot) and %d (domain). */
import { hostname as osHostname } from 'node:os';

export function expandNodeName(template: string, host: string = osHostname()): string {
  const [name = host, domain = ''] = host.split(/\.(.*)/s);
  // As Celery: a name without '@' is the host part (`-n w1` is `celeriac@w1`).
  const nodeName = template.includes('@') ? template : `celeriac@${template}`;
  return nodeName.replace(/%([hnd%])/g, (_m, k: string) =>
    k === 'h' ? host : k === 'n' ? name : k === 'd' ? domain : '%',
  );
}

/** The default worker name, `celeriac@<host>` (Celery uses `celery@<host>`). */
export function defaultNodeName(host: string = osHostname()): string {
  return `celeriac@${host}`;
}
