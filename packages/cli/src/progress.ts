/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private readonly enabled: boolean;

  constructor(private readonly label: string, private readonly total: number | undefined, private readonly current: () => number) {
    this.enabled = process.stderr.isTTY === true;
    if (this.enabled) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  private draw(): void {
    const n = this.current();
    const width = 30;
    let line: string;
    if (this.total) {
      const frac = Math.min(1, n / this.total);
      const full = Math.round(frac * width);
      line = `${this.label} [${"#".repeat(full)}${"-".repeat(width - full)}] ${n}/${this.total} ${(frac * 100).toFixed(0)}%`;
    } else {
      line = `${this.label} ${n}`;
    }
    process.stderr.write(`\r${line}\x1b[K`);
  }

  stop(): void {
    if (!this.enabled) return;
    clearInterval(this.timer);
    this.draw();
    process.stderr.write("\n");
  }
}
