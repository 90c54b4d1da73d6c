// One link of the seeds' chain: a ring of servers that pass a message on until it is back where it started.
// process(message): when this link's name is already in the message the ring is closed ("complete at N");
// otherwise the name is appended, the message goes to PYRONAME:example.chain.<next>, and "passed on from N" is
// put in front of the answer. Each hop is logged. Python Pyro4 links (same names) can sit in the same ring.
import { expose, proxy, type Remote } from 'celeriac';

export const chainName = (link: string): string => `example.chain.${link}`;

@expose
export class Chain {
  #next: Remote<Chain> | undefined;

  constructor(
    private readonly self: string,
    private readonly nextLink: string,
    private readonly nameServer: string,
    private readonly log: (line: string) => void = console.log,
  ) {}

  async process(message: string[]): Promise<string[]> {
    if (message.includes(this.self)) {
      this.log(`Back at ${this.self}; the chain is closed!`);
      return [`complete at ${this.self}`];
    }
    this.#next ??= proxy<Chain>(`PYRONAME:${chainName(this.nextLink)}@${this.nameServer}`);
    this.log(`${this.self} forwarding the message to ${this.nextLink}`);
    const result = await this.#next.process([...message, this.self]);
    return [`passed on from ${this.self}`, ...result];
  }

  /** Closes the connection to the next link. */
  _close(): void {
    this.#next?._pyroRelease();
  }
}
