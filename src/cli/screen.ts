/**
 * The console at a terminal. Events and log lines arrive while the user types at the prompt; written straight
 * out they would land on the prompt line, in the middle of what is being typed. Each one is written instead
 * over a cleared prompt line, and the prompt, with what was typed so far, is drawn again below it.
 */

/** What redraws the prompt and the line being typed (a readline Interface in terminal mode). */
export interface PromptLine {
  prompt(preserveCursor?: boolean): void;
}

/** Moves the cursor to the start of the line and clears it. */
export const CLEAR_LINE = '\r\x1b[K';

/** Writes console output and logs around the prompt. */
export class ConsoleScreen {
  #prompting = false;

  constructor(
    private readonly writeOut: (s: string) => void,
    private readonly writeErr: (s: string) => void,
    private readonly promptLine: PromptLine | null,
  ) {}

  /** Shows the prompt and waits for a line (nothing without a terminal). */
  showPrompt(): void {
    if (!this.promptLine) return;
    this.#prompting = true;
    this.promptLine.prompt();
  }

  /** The user entered a line: the prompt is gone until showPrompt. */
  inputTaken(): void {
    this.#prompting = false;
  }

  /** Writes to standard output (events). */
  out(text: string): void {
    this.#around(() => this.writeOut(text));
  }

  /** Writes to standard error (logs). */
  err(text: string): void {
    this.#around(() => this.writeErr(text));
  }

  #around(write: () => void): void {
    if (!this.#prompting || !this.promptLine) return write();
    this.writeOut(CLEAR_LINE);
    write();
    this.promptLine.prompt(true);
  }
}
