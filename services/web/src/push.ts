// Live status over the push channel (the notify service's WebSocket API), when config.json names one.
// Messages may come twice or out of order: per video only a higher `sequence` counts. While the socket
// is down the pages poll as they would without it; it reconnects with a growing pause.
import type { Auth } from "./auth";
import type { Status } from "./types";

export interface StatusPush {
  type: "video-status";
  video_id: string;
  status: Status;
  rank: number;
  progress: number | null;
  playable_seconds?: number | null; // while PROCESSING: seconds from the start that can be watched already
  reason: string | null;
  title: string | null;
  sequence: number;
}

type Listener = (push: StatusPush) => void;

export class LiveUpdates {
  private socket: WebSocket | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly latest = new Map<string, number>(); // video id -> highest sequence seen
  private retry = 1000;
  private timer: number | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly auth: Auth,
  ) {}

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.stopped = false;
    const token = await this.auth.accessToken();
    if (!token || this.stopped) return;
    const address = new URL(this.url);
    address.searchParams.set("token", token);
    const socket = new WebSocket(address);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retry = 1000;
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.start(), this.retry);
      this.retry = Math.min(this.retry * 2, 30000);
    });
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    let push: StatusPush;
    try {
      push = JSON.parse(data) as StatusPush;
    } catch {
      return; // not ours
    }
    if (push.type !== "video-status" || typeof push.video_id !== "string" || typeof push.sequence !== "number") return;
    if ((this.latest.get(push.video_id) ?? -1) >= push.sequence) return; // a repeat, or older than what we have
    this.latest.set(push.video_id, push.sequence);
    for (const listener of this.listeners) listener(push);
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}
