import fs from "node:fs";

/** Writes one message id per line (--record) for every delivery or send, flushed as it goes so a crash loses nothing written. */
export class IdRecorder {
  private readonly fd: number | undefined;

  constructor(file: string | undefined) {
    this.fd = file ? fs.openSync(file, "a") : undefined;
  }

  write(id: string): void {
    if (this.fd !== undefined) fs.writeSync(this.fd, id + "\n");
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
  }
}
