/** kombu's Redis key names, with the optional global key prefix. Pure. */

/** kombu's separator inside binding members and priority list names. */
export const SEP = '\x06\x16';
/** kombu's default priority steps: a message goes to the list of the highest step not above its priority. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

export class RedisKeys {
  constructor(
    readonly prefix: string,
    readonly db: number,
  ) {}

  get unacked(): string {
    return `${this.prefix}unacked`;
  }
  get unackedIndex(): string {
    return `${this.prefix}unacked_index`;
  }
  get unackedMutex(): string {
    return `${this.prefix}unacked_mutex`;
  }
  /** celeriac's dead-letter list (kombu has none). */
  get deadLetters(): string {
    return `${this.prefix}celeriac.dead_letter`;
  }
  /** celeriac's hash of queues declared with expires: name -> "<expires ms>:<last used ms>" (kombu has none). */
  get queueExpiry(): string {
    return `${this.prefix}_celeriac.queue_expiry`;
  }
  /** celeriac's receipt of one claim (what it took), so the claim sent again answers the same (kombu has none). */
  claimReceipt(id: string): string {
    return `${this.prefix}_celeriac.claim.${id}`;
  }
  binding(exchange: string): string {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }
  get bindingPattern(): string {
    return `${this.prefix}_kombu.binding.*`;
  }

  /** Names in the queue-expiry hash unused for longer than their period at `now`. */
  static staleQueues(entries: Record<string, string>, now: number): string[] {
    return Object.entries(entries)
      .filter(([, v]) => {
        const [expires = NaN, usedAt = NaN] = v.split(':').map(Number);
        return now - usedAt > expires;
      })
      .map(([name]) => name);
  }

  /** The priority step a message priority maps to (kombu: steps[bisect(steps, p) - 1]). */
  static step(priority: number): number {
    let step: number = PRIORITY_STEPS[0];
    for (const s of PRIORITY_STEPS) if (priority >= s) step = s;
    return step;
  }

  /** The list holding a queue's messages of a priority: step 0 is the bare name, others `<queue>\x06\x16<step>`. */
  list(queue: string, priority = 0): string {
    const step = RedisKeys.step(priority);
    return step === 0 ? `${this.prefix}${queue}` : `${this.prefix}${queue}${SEP}${step}`;
  }

  lists(queue: string): string[] {
    return PRIORITY_STEPS.map((s) => this.list(queue, s));
  }

  /** kombu's fanout channel: `/{db}.{exchange}`, or `/{db}.{exchange}/{routing_key}` (fanout_patterns). */
  fanoutChannel(exchange: string, routingKey: string): string {
    const base = `${this.prefix}/${this.db}.${exchange}`;
    return routingKey ? `${base}/${routingKey}` : base;
  }

  /** The pattern a queue bound to a fanout exchange subscribes to ('#' becomes '*', as kombu does). */
  fanoutPattern(exchange: string, routingKey: string): string {
    return this.fanoutChannel(exchange, routingKey.replace(/#/g, '*'));
  }

  bindingMember(routingKey: string, queue: string): string {
    return `${routingKey}${SEP}${SEP}${queue}`;
  }

  static parseMember(member: string): { routingKey: string; pattern: string; queue: string } {
    const [routingKey = '', pattern = '', queue = ''] = member.split(SEP);
    return { routingKey, pattern, queue };
  }
}
