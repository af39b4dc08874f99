// The API's public routes, for anyone: no token is sent and nothing here ever asks the person to sign in (the
// share page, the embed page, "Latest videos" and the view beacon work the same signed in or not).
import { ApiError, errorMessage } from "./api";
import type { PublicPage, SharedVideo } from "./types";

export class PublicApi {
  /** `base`: the videos API (config.json's apis.videos), no trailing slash. */
  constructor(readonly base: string) {}

  private async get<T>(path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, { credentials: "omit" });
    } catch {
      throw new ApiError("Could not reach the server. Check your connection and try again.", 0);
    }
    if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
    return (await response.json()) as T;
  }

  /** An unlisted or public video with playback links that last minutes; an ApiError 404 once it is not shared. */
  shared(shareId: string): Promise<SharedVideo> {
    return this.get(`/shared/${encodeURIComponent(shareId)}`);
  }

  publicVideos(cursor: string | null = null, limit = 24): Promise<PublicPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.get(`/public/videos?${query}`);
  }

  /** The oEmbed document of a share page (for <link rel="alternate">). */
  oembedUrl(pageUrl: string): string {
    return `${this.base}/oembed?${new URLSearchParams({ url: pageUrl })}`;
  }

  /** POST /views, as a beacon: it outlives the page, and a plain-text body needs no preflight. */
  beacon(body: { grant: string; session: string }): void {
    const url = `${this.base}/views`;
    const text = JSON.stringify(body);
    if (typeof navigator.sendBeacon === "function" && navigator.sendBeacon(url, text)) return;
    // (no beacon, or its queue full): the same request, kept alive past the page; whether it counted is not ours to know
    void fetch(url, { method: "POST", body: text, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } }).catch(() => undefined);
  }
}
