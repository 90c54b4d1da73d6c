// The greeting client: finds 'example.greeting' through the name server (PYRONAME) and asks for a fortune.
// Usage: client.ts [your name]
import { proxy } from 'celeriac';
import { GREETING_NAME, nameServerLocation, type GreetingMaker } from './greeting.js';

const { host, port } = nameServerLocation();
const name = process.argv[2] ?? 'stranger';
const greeting = proxy<GreetingMaker>(`PYRONAME:${GREETING_NAME}@${host}:${port}`);
try {
  console.log(await greeting.get_fortune(name));
} finally {
  greeting._pyroRelease();
}
