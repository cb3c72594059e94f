import { StringDecoder } from "node:string_decoder";

/**
 * Splits a byte or string stream into lines (`\n` or `\r\n`), decoding UTF-8 across chunk
 * boundaries. Feeding it from a `'data'` listener leaves the stream untouched for every other
 * listener: nothing is read out of the stream, paused or re-encoded.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(text.slice(start, end));
      start = nl + 1;
    }
    this.partial = text.slice(start);
  }

  /** Emits a final unterminated line, if any. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest.length > 0) this.onLine(rest.endsWith("\r") ? rest.slice(0, -1) : rest);
  }
}
