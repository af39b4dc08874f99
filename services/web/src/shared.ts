// A shared video playing for anyone (the share page and the embed page): GET /shared/{share_id}, the player, the
// view beacon, and links kept fresh. The share route's links last 10 minutes: they are asked for again before they
// end, or at once when hls.js is refused a playlist or a segment, and the player goes on from where it was. A 404
// then (the video made private, deleted, or its link replaced) ends playback with words.
import { ApiError } from "./api";
import { countViewOnPlay } from "./beacon";
import { h, replace } from "./dom";
import { Player } from "./player";
import type { PublicApi } from "./publicapi";
import type { SharedVideo, VideoDetails } from "./types";

const SHARE_KEY_LENGTH = 22; // a share id is 22 random characters, then the video's id
const RENEW_LEAD_MS = 120_000; // ask for fresh links 2 minutes before they end (half their life if less is left)
const SOONEST_MS = 2_000;
// when this device's clock makes no sense of `expires_at` (ended already, or hours away): the share route's links
// last 10 minutes and are handed out again while more than half of that is left, so 2 minutes is always early enough
const UNSURE_MS = 120_000;
const LONGEST_MS = 3_600_000;
const RETRY_MS = 30_000; // the share route could not be reached, or nothing plays yet: ask again then
const MAX_REFUSALS = 2; // fresh links refused again, with no frame played between: give up with words

export const NOT_AVAILABLE = "This video is not available. It may have been made private or deleted, or its link replaced.";

export interface SharedPage {
  /** The video as the share route gives it now (each time it is asked: its title may have changed). */
  shown(video: SharedVideo): void;
  /** Not shared (any more): a 404. The stage already says so. */
  gone(): void;
  /** A problem to tell the person in words (the share route could not be reached); null once it is over. */
  problem(message: string | null): void;
}

/** The video's id, from its share id (what a view is counted against in this page session). */
export function videoIdOf(shareId: string): string {
  return shareId.slice(SHARE_KEY_LENGTH);
}

/** A shared video as the player takes one: no downloads, the share route's links. */
function playable(video: SharedVideo): VideoDetails {
  return {
    video_id: videoIdOf(video.share_id),
    title: video.title,
    status: video.status,
    created_at: video.created_at,
    duration_seconds: video.duration_seconds ?? null,
    playable_seconds: video.playable_seconds ?? null,
    poster: video.poster ?? null,
    thumbnails: video.thumbnails ?? null,
    playback: video.playback ?? null,
    renditions: [],
  };
}

export class SharedPlayback {
  private player: Player | null = null;
  private timer: number | undefined;
  private asking: Promise<void> | null = null;
  private refusals = 0;
  private stopped = false;
  private unbeacon: (() => void) | null = null;

  constructor(
    private readonly api: PublicApi,
    private readonly shareId: string,
    /** Where the player (or the words saying why there is none) goes. */
    readonly stage: HTMLElement,
    private readonly page: SharedPage,
  ) {}

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.unbeacon?.();
    this.player?.destroy();
    this.player = null;
  }

  /** Ask the share route again (one request at a time). */
  private refresh(): Promise<void> {
    this.asking ??= this.load().finally(() => (this.asking = null));
    return this.asking;
  }

  private async load(): Promise<void> {
    window.clearTimeout(this.timer);
    let video: SharedVideo;
    try {
      video = await this.api.shared(this.shareId);
    } catch (problem) {
      if (this.stopped) return;
      if (problem instanceof ApiError && problem.status === 404) return this.gone();
      this.page.problem(problem instanceof Error ? problem.message : String(problem));
      this.timer = window.setTimeout(() => void this.refresh(), RETRY_MS); // what plays may go on meanwhile
      return;
    }
    if (this.stopped) return;
    this.page.problem(null);
    this.page.shown(video);
    this.show(video);
    this.schedule(video.playback?.expires_at ?? null);
  }

  private show(video: SharedVideo): void {
    const details = playable(video);
    if (this.player) {
      if (details.playback) this.player.renew(details);
      return;
    }
    const plays = video.status === "READY" || (video.status === "PROCESSING" && Player.playsEarly());
    if (details.playback && plays) {
      const player = new Player(details, (words) => this.end(words), { onLinksFailed: () => this.refused() });
      this.player = player;
      player.video.addEventListener("playing", () => (this.refusals = 0));
      this.unbeacon = countViewOnPlay(this.api, details.video_id, player.video, () => player.link);
      replace(this.stage, player.element);
    } else if (video.status === "FAILED") {
      this.end("This video could not be processed, so it cannot be played.");
    } else {
      replace(this.stage, h("div", { class: "waiting" }, "This video is being prepared. It plays here as soon as it is ready."));
    }
  }

  /** The next request for fresh links: before these end, or in a while when there are none yet. */
  private schedule(expiresAt: string | null): void {
    let wait = RETRY_MS;
    if (expiresAt) {
      const left = Date.parse(expiresAt) - Date.now();
      const sensible = left > 0 && left <= LONGEST_MS;
      wait = sensible ? Math.max(SOONEST_MS, left - Math.min(RENEW_LEAD_MS, left / 2)) : UNSURE_MS;
    }
    this.timer = window.setTimeout(() => void this.refresh(), wait);
  }

  /** hls.js was refused a playlist or a segment: fresh links (or a 404: no longer shared). */
  private refused(): void {
    this.refusals += 1;
    if (this.refusals > MAX_REFUSALS) {
      this.end("The video could not be played. Reload the page to try again.");
      return;
    }
    void this.refresh();
  }

  private gone(): void {
    this.end(NOT_AVAILABLE);
    this.page.gone();
  }

  /** Playback cannot go on: the player goes (never left frozen) and the stage says why. */
  private end(words: string): void {
    window.clearTimeout(this.timer);
    this.unbeacon?.();
    this.player?.destroy();
    this.player = null;
    this.stopped = true;
    replace(this.stage, h("p", { class: "stopped", role: "alert" }, words));
  }
}
