/**
 * Writes 8 lines of 1.5 MB (the --json `message` event of a 256 KiB binary broadcast: JSON escapes, 6
 * characters a byte) through the stream sink of standard output, a pipe its parent reads only later, and
 * prints to standard error the text's bytes and the most ArrayBuffer memory seen above the start until they
 * were all written (test/stdout-sink.test.ts).
 */
import { streamSink } from '../../src/cli/stdout-sink.ts';

const line = JSON.stringify({ event: 'message', data: new TextDecoder().decode(new Uint8Array(256 * 1024).fill(3)) }) + '\n';
const lines = 8;
const start = process.memoryUsage().arrayBuffers;
let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - start));
const timer = setInterval(sample, 5);
const sink = streamSink(process.stdout);
let left = lines;
for (let i = 0; i < lines; i++) {
  sink.write(line, () => {
    sample();
    if (--left > 0) return;
    clearInterval(timer);
    process.stderr.write(JSON.stringify({ textBytes: lines * Buffer.byteLength(line), peakArrayBufferBytes: peak }) + '\n');
  });
}
sample();
