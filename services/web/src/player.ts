// The video element and its source (HLS through hls.js, native HLS on Safari, else the MP4 renditions), with the
// site's own controls: the buttons (./controls), the seek bar with its time and previews (./seekbar), the quality
// and captions menus; the browser's controls are off (one seek bar, the one with previews). It fetches only what
// is watched: before play, the playlists (and the poster); then about 30 s ahead. It can start while the video is
// still being encoded: its playlists then grow (HLS EVENT) and end (VOD) at the same links when it is READY, so
// READY changes only how far the seek bar reaches; the player is never rebuilt under a playing video (that would
// stall it). Links that end (a share page's last minutes) are renewed in place: `renew` plays on from where it was.
import Hls, { type HlsConfig, type Level, type MediaPlaylist } from "hls.js";
import { Controls } from "./controls";
import { append, h, replace } from "./dom";
import { SeekBar } from "./seekbar";
import { playableSeconds } from "./status";
import type { VideoDetails } from "./types";

const HLS_CONFIG: Partial<HlsConfig> = {
  enableWorker: false,
  capLevelToPlayerSize: false,
  renderTextTracksNatively: true, // the browser draws the chosen subtitle track's cues (text, never markup)
  autoStartLoad: false, // no segment before play (or a seek): opening a page costs its playlists, not the video
  startPosition: 0, // a growing (EVENT) playlist plays from its start, not from its live edge
  maxBufferLength: 30, // about 30 s ahead whatever the bitrate (else hls.js fills up to 60 MB: a short clip whole)
  maxMaxBufferLength: 30,
  backBufferLength: 30, // and no more than 30 s kept behind
};

const NATIVE_HLS = "application/vnd.apple.mpegurl";

/** How far the video plays: all of it once READY; while processing, its encoded start. */
function reach(details: VideoDetails): number {
  if (details.status !== "READY") return playableSeconds(details);
  return details.stream?.duration_seconds ?? details.duration_seconds ?? details.metadata?.duration_seconds ?? 0;
}

export interface PlayerOptions {
  /** A fatal network error (a playlist or segment refused: links that ended, a video made private): the page asks
   * for fresh links and calls `renew`. Without it, such an error is the end of playback (onError). */
  onLinksFailed?: () => void;
}

export class Player {
  readonly element: HTMLElement;
  /** The video element (a view beacon listens to it). */
  readonly video: HTMLVideoElement;
  private readonly seekBar: SeekBar;
  private hls: Hls | null = null;
  private loading = false; // hls.js fetches segments: from the first play or seek on
  private growing: boolean; // the video is still being encoded: its playlists grow
  private fullLadder: string | null = null; // READY came while the growing stream played: its master, to load again
  private reloadAt: number | null = null; // where a reload of the master starts (the latest seek while it loads)
  private readonly quality = h("select", { id: "quality", "aria-label": "Quality" });
  // shown when the stream has subtitle tracks (hls.js's, or with Safari's native HLS the video's text tracks)
  private readonly captions = h("select", { id: "captions", "aria-label": "Captions" });
  private readonly captionsLabel = h("label", { for: "captions", hidden: true }, "Captions");
  private readonly controls: Controls;

  /** Whether this browser plays a video still being encoded (through HLS: the MP4 downloads come at the end). */
  static playsEarly(): boolean {
    return Hls.isSupported() || document.createElement("video").canPlayType(NATIVE_HLS) !== "";
  }

  constructor(
    private details: VideoDetails,
    private readonly onError: (message: string) => void,
    private readonly options: PlayerOptions = {},
  ) {
    this.growing = details.status !== "READY";
    this.video = h("video", {
      playsinline: true,
      preload: "none", // the poster until play: no media is fetched for a page only opened
      poster: details.poster?.url ?? null,
      "aria-label": details.title || "Video",
    });
    this.seekBar = new SeekBar(this.video, (seconds) => this.seek(seconds));
    this.video.addEventListener("play", () => this.begin(this.video.currentTime));
    // hls.js knows of growth at each reload of the playlist, maybe before the catalog says so
    this.video.addEventListener("durationchange", () => this.reachOut());
    const label = h("label", { for: "quality" }, "Quality");
    this.captions.hidden = true;
    this.captions.addEventListener("change", () => this.chooseCaptions(Number(this.captions.value)));
    this.element = h("div", { class: "player" });
    this.controls = new Controls(this.video, this.element);
    const { play, mute, volume, fullscreen } = this.controls;
    const gap = h("span", { class: "gap" });
    const row = h("div", { class: "controls" }, play, this.seekBar.time, mute, volume, gap, this.captionsLabel, this.captions, label, this.quality, fullscreen);
    append(this.element, this.video, this.seekBar.element, row);
    this.reachOut();
    this.seekBar.setTrack(details.playback?.thumbnails ?? null);
    this.attach();
  }

  /** Newer details of the same video: more of it encoded, or READY (previews, the whole length, every rung). */
  update(details: VideoDetails): void {
    this.details = details;
    if (this.growing && details.status === "READY") {
      this.growing = false;
      // the same playlists now end: play on; the master, fetched again, lists every rung: at once if nothing
      // plays yet, else at the next seek (the picture changes then anyway)
      const master = details.playback?.hls;
      if (this.hls && master && this.loading) this.fullLadder = master;
      else if (this.hls && master) this.hls.loadSource(master);
    }
    this.reachOut();
    this.seekBar.setTrack(details.playback?.thumbnails ?? null);
  }

  /** The link playing now (its grant is what a view beacon names). */
  get link(): string | null {
    return this.details.playback?.hls ?? null;
  }

  /** Fresh links for the same video (the old ones end, or were refused): the same position, playing if it was. */
  renew(details: VideoDetails): void {
    this.details = details;
    if (details.status === "READY") {
      this.growing = false;
      this.fullLadder = null; // (the fresh master lists every rung)
    }
    this.reachOut();
    this.seekBar.setTrack(details.playback?.thumbnails ?? null);
    const url = details.playback?.hls;
    if (!url) return;
    if (this.hls) {
      if (this.loading) this.reload(url, this.reloadAt ?? this.video.currentTime);
      else this.hls.loadSource(url); // nothing played yet: the playlists again, no segment
      return;
    }
    if (this.video.src && this.video.canPlayType(NATIVE_HLS)) {
      const at = this.video.currentTime;
      const playing = !this.video.paused;
      this.video.addEventListener(
        "loadedmetadata",
        () => {
          this.video.currentTime = at;
          if (playing) this.video.play().catch(() => undefined);
        },
        { once: true },
      );
      this.video.src = url;
    }
  }

  private reachOut(): void {
    const media = Number.isFinite(this.video.duration) ? this.video.duration : 0;
    this.seekBar.limit = Math.max(reach(this.details), media);
  }

  private attach(): void {
    const hls = this.details.playback?.hls;
    const mp4s = this.details.renditions.filter((r) => r.url);
    if (hls && Hls.isSupported()) {
      this.attachHls(hls);
    } else if (hls && this.video.canPlayType(NATIVE_HLS)) {
      this.video.src = hls; // Safari: native HLS picks the quality itself
      this.quality.append(h("option", { value: "auto" }, "Auto"));
      this.quality.disabled = true;
      // a growing playlist may open at its live edge: watch from the start
      if (this.growing) this.video.addEventListener("loadedmetadata", () => (this.video.currentTime = 0), { once: true });
      // its subtitle renditions are the video's own text tracks: the captions menu lists those
      const listed = () => this.subtitles(this.nativeTracks().map((track) => track.label));
      this.video.textTracks.addEventListener("addtrack", listed);
      this.video.textTracks.addEventListener("removetrack", listed);
      // (its network errors are the element's: links that ended are renewed the same way)
      this.video.addEventListener("error", () => this.options.onLinksFailed?.());
    } else if (mp4s.length) {
      for (const rendition of mp4s) this.quality.append(h("option", { value: rendition.url ?? "" }, rendition.name));
      this.video.src = mp4s[0]?.url ?? "";
      this.quality.addEventListener("change", () => {
        const at = this.video.currentTime;
        const playing = !this.video.paused;
        this.video.src = this.quality.value;
        this.video.currentTime = at;
        if (playing) void this.video.play();
      });
    } else {
      this.onError("This browser cannot play the video.");
    }
  }

  private attachHls(url: string): void {
    const player = new Hls(HLS_CONFIG);
    this.hls = player;
    player.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      this.levels(data.levels);
      // (hls.js tells the tracks of the playing rung's group only once a rung loads: after play, as nothing
      // loads before it; the master's are the same ones, as every rung names the one group)
      this.subtitles(data.subtitleTracks);
    });
    player.on(Hls.Events.LEVEL_SWITCHED, () => this.showAuto());
    player.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_event, data) => this.subtitles(data.subtitleTracks));
    player.on(Hls.Events.SUBTITLE_TRACK_SWITCH, () => this.showCaptions());
    let recovered = false;
    player.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;
        player.recoverMediaError();
        return;
      }
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && this.options.onLinksFailed) {
        this.options.onLinksFailed();
        return;
      }
      this.onError(`The video could not be played (${data.details}). Reload the page to try again.`);
    });
    this.quality.addEventListener("change", () => {
      player.currentLevel = Number(this.quality.value);
    });
    player.loadSource(url);
    player.attachMedia(this.video);
  }

  /** The first play (or seek): from now on hls.js fetches segments, from `at`. */
  private begin(at: number): void {
    this.seekBar.engage();
    if (this.loading || !this.hls) return;
    this.loading = true;
    this.hls.startLoad(at);
  }

  /** The seek bar moved: there, loading from there if nothing is loaded yet. */
  private seek(seconds: number): void {
    if (this.reloadAt !== null) {
      this.reloadAt = seconds; // the master is being loaded again: start where the viewer is now
      return;
    }
    if (this.fullLadder) {
      this.reload(this.fullLadder, seconds);
      return;
    }
    this.begin(seconds);
    this.video.currentTime = seconds;
  }

  /** After READY, at a seek (the picture changes anyway): the same master again, now with every rung. */
  private reload(url: string, seconds: number): void {
    const hls = this.hls;
    if (!hls) return;
    this.fullLadder = null;
    this.reloadAt = seconds;
    const playing = !this.video.paused;
    hls.once(Hls.Events.MANIFEST_PARSED, () => {
      hls.startLoad(this.reloadAt ?? seconds);
      this.reloadAt = null;
      if (playing) this.video.play().catch(() => undefined); // (a pause meanwhile is the viewer's)
    });
    hls.loadSource(url);
  }

  private levels(levels: Level[]): void {
    const options = [h("option", { value: "-1" }, "Auto")];
    levels.forEach((level, index) => options.push(h("option", { value: String(index) }, `${level.height}p`)));
    replace(this.quality, ...options);
  }

  /** The captions menu: "Off" and each subtitle track by its name; hidden when the stream has none. */
  private subtitles(tracks: Array<MediaPlaylist | string>): void {
    const options = [h("option", { value: "-1" }, "Off")];
    tracks.forEach((track, index) => {
      const name = typeof track === "string" ? track : track.name;
      options.push(h("option", { value: String(index) }, name || `Subtitles ${index + 1}`));
    });
    replace(this.captions, ...options);
    this.captions.hidden = this.captionsLabel.hidden = tracks.length === 0;
    this.showCaptions();
  }

  /** Native HLS (Safari): the stream's subtitle tracks as the browser lists them. */
  private nativeTracks(): TextTrack[] {
    return Array.from(this.video.textTracks).filter((track) => track.kind === "subtitles" || track.kind === "captions");
  }

  private chooseCaptions(index: number): void {
    if (!this.hls) {
      this.nativeTracks().forEach((track, i) => (track.mode = i === index ? "showing" : "disabled"));
      return;
    }
    this.hls.subtitleDisplay = index >= 0;
    this.hls.subtitleTrack = index;
  }

  /** The menu follows the track shown (a track marked DEFAULT in the stream starts on). */
  private showCaptions(): void {
    const hls = this.hls;
    this.captions.value = String(hls ? (hls.subtitleDisplay ? hls.subtitleTrack : -1) : this.nativeTracks().findIndex((t) => t.mode === "showing"));
  }

  /** In auto, the menu says which rung is playing: "Auto (480p)". */
  private showAuto(): void {
    const hls = this.hls;
    const auto = this.quality.options[0];
    if (!hls || !auto) return;
    const level = hls.levels[hls.currentLevel];
    auto.textContent = hls.autoLevelEnabled && level ? `Auto (${level.height}p)` : "Auto";
  }

  destroy(): void {
    this.controls.destroy();
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
  }
}
