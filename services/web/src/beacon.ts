// A view: told once (POST /views, a beacon) at the first frame of a playback session, never on page load, and
// never again in this page session for the same video (replaying, seeking, fresh links or coming back to its page
// do not count again). The session id is random, made for this page session and kept nowhere.
import type { PublicApi } from "./publicapi";

const told = new Set<string>(); // the videos this page session has counted a view of
let session: string | null = null;

/** 32 random URL-safe characters (192 bits): the API takes 22 to 64 of [A-Za-z0-9_-]. */
function sessionId(): string {
  if (!session) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    session = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  return session;
}

/** The grant in a playback link: {api}/playback/{grant}/master.m3u8. */
export function grantOf(link: string | null | undefined): string | null {
  const match = /\/playback\/([^/?#]+)\/master\.m3u8(?:[?#]|$)/.exec(link ?? "");
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

/** Count a view of `video` (its id) when `media` first plays, with the grant of the link playing then. The
 * returned function stops listening (a page left before playing counts nothing). */
export function countViewOnPlay(api: PublicApi, video: string, media: HTMLMediaElement, link: () => string | null): () => void {
  const playing = () => {
    const grant = grantOf(link());
    if (!grant || told.has(video)) return;
    told.add(video);
    media.removeEventListener("playing", playing);
    api.beacon({ grant, session: sessionId() });
  };
  if (!told.has(video)) media.addEventListener("playing", playing);
  return () => media.removeEventListener("playing", playing);
}
