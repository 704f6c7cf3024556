/**
 * One line reader over stdin for the whole CLI run: the interactive questions and the console take lines
 * from the same queue, so answers piped in ahead of time are never lost between the two. At a terminal it
 * edits the line itself (readline's terminal mode), so output printed while the user types can be drawn above
 * the prompt and the prompt redrawn below it (screen.ts).
 */
import { createInterface, type Interface } from 'node:readline';
import { StrongcastError } from '../errors.ts';

/** The prompt of the console. */
export const CONSOLE_PROMPT = '> ';

/** Lines of stdin, one at a time; `null` once stdin has ended. */
export class LineReader {
  private readonly queue: string[] = [];
  private waiting: ((s: string | null) => void) | null = null;
  private ended = false;
  private readonly rl: Interface;
  /** The readline interface that draws the prompt, at a terminal; null when stdin is a pipe or a file. */
  readonly promptLine: Interface | null;

  constructor(input: NodeJS.ReadableStream = process.stdin, terminal = input === process.stdin && process.stdin.isTTY === true && process.stdout.isTTY === true) {
    this.rl = terminal ? createInterface({ input, output: process.stdout, terminal: true, prompt: CONSOLE_PROMPT }) : createInterface({ input, terminal: false });
    this.promptLine = terminal ? this.rl : null;
    // In terminal mode readline takes Ctrl-C itself; hand it back to the process, whose handler shuts down.
    if (terminal) this.rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
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

  /**
   * Prints `question` and returns the trimmed answer.
   * @throws ERR_INPUT_ENDED when stdin ends first: an unanswered question is not an empty answer, and taking it
   *   as one would start a node nobody configured
   */
  async ask(question: string): Promise<string> {
    if (this.promptLine) {
      this.promptLine.setPrompt(question);
      this.promptLine.prompt();
    } else process.stdout.write(question);
    const answer = await this.next();
    this.promptLine?.setPrompt(CONSOLE_PROMPT);
    if (answer === null) {
      process.stdout.write('\n'); // the error goes on a line of its own, not after the question
      throw new StrongcastError('ERR_INPUT_ENDED', `standard input ended before an answer to '${question.trim()}'; nothing was started`);
    }
    return answer.trim();
  }

  /** Stops reading stdin. */
  close(): void {
    this.rl.close();
  }
}
