// Live status by asking again: every few seconds while something on the page can still change, less
// often while the tab is hidden, and only as a safety net while the push channel is connected.

export const VISIBLE_MS = 3000;
export const HIDDEN_MS = 30000;
export const PUSHED_MS = 30000;

export class Poller {
  private timer: number | undefined;
  private stopped = false;
  private readonly onVisibility = () => {
    if (!document.hidden) this.soon(0);
  };

  /** `tick` says whether to keep going (something is still changing). */
  constructor(
    private readonly tick: () => Promise<boolean>,
    private readonly pushed: () => boolean = () => false,
  ) {
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  start(delay = VISIBLE_MS): void {
    this.stopped = false;
    this.soon(delay);
  }

  private soon(delay: number): void {
    if (this.stopped) return;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    let again = true;
    try {
      again = await this.tick();
    } catch {
      again = true; // the view shows the error; keep trying
    }
    if (again) this.soon(document.hidden ? HIDDEN_MS : this.pushed() ? PUSHED_MS : VISIBLE_MS);
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}
