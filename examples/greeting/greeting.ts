// The seeds' Pyro4 greeting object, in TypeScript: one exposed method, callable from celeriac and Python Pyro4 alike.
import { expose } from 'celeriac';

@expose
export class GreetingMaker {
  get_fortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\nTomorrow's lucky number is 12345678.`;
  }
}

/** The name the server registers and the client looks up. */
export const GREETING_NAME = 'example.greeting';

/** Where the name server is: Pyro4's own environment variables (PYRO_NS_HOST, PYRO_NS_PORT), 127.0.0.1:9090 by default. */
export function nameServerLocation(): { host: string; port: number } {
  return { host: process.env['PYRO_NS_HOST'] ?? '127.0.0.1', port: Number(process.env['PYRO_NS_PORT'] ?? 9090) };
}
