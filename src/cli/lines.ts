/**
 * One line reader over stdin for the whole CLI run: the interactive questions and the console take lines
 * from the same queue, so answers piped in ahead of time are never lost between the two.
 */
import { createInterface, type Interface } from 'node:readline';

/** Lines of stdin, one at a time; `null` once stdin has ended. */
export class LineReader {
  private readonly queue: string[] = [];
  private waiting: ((s: string | null) => void) | null = null;
  private ended = false;
  private readonly rl: Interface;

  constructor(input: NodeJS.ReadableStream = process.stdin) {
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (l) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) w(l);
      else this.queue.push(l);
    });
    this.rl.on('close', () => {
      this.ended = true;
      const w = this.waiting;
      this.waiting = null;
      w?.(null);
    });
  }

  /** The next line, or null when stdin has ended. */
  next(): Promise<string | null> {
    const l = this.queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Prints `question` and returns the trimmed answer ('' when stdin has ended). */
  async ask(question: string): Promise<string> {
    process.stdout.write(question);
    return ((await this.next()) ?? '').trim();
  }

  /** Stops reading stdin. */
  close(): void {
    this.rl.close();
  }
}
