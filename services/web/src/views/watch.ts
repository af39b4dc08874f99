// One video: the player (HLS through hls.js, native HLS on Safari, else the MP4 renditions), a quality
// menu, a captions menu, seek-bar previews, the video's details, its downloads, and delete (with a confirmation).
import Hls, { type Level, type MediaPlaylist } from "hls.js";
import { ApiError, SessionExpired } from "../api";
import type { App, View } from "../app";
import { formatBytes, formatDate, formatDuration, h, replace } from "../dom";
import { Poller } from "../live";
import { statusBadge } from "../status";
import { FINAL_STATUSES, type VideoDetails } from "../types";
import { type Cue, cueAt, parseThumbnails } from "../thumbnails";

export function watchView(app: App, videoId: string): View {
  const heading = h("h1", {}, "Video");
  const status = h("p", { class: "status" });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const stage = h("div", { class: "stage" });
  const info = h("div", { class: "info" });
  let player: Player | null = null;
  let shown: string | null = null; // the status the page shows

  function showError(problem: unknown): void {
    if (problem instanceof SessionExpired) return;
    error.hidden = false;
    error.textContent = problem instanceof Error ? problem.message : String(problem);
  }

  async function load(): Promise<boolean> {
    const video = await app.api.getVideo(videoId);
    error.hidden = true;
    const title = video.title || "Untitled";
    heading.textContent = title;
    document.title = `${title} · 24-Hour Video`;
    replace(status, statusBadge(video.status, video.progress), video.status === "FAILED" && video.failure ? ` ${video.failure.reason}` : "");
    if (video.status === "PROCESSING" && typeof video.progress === "number") {
      status.append(" ", h("progress", { max: 1, value: video.progress, "aria-label": "Processing" }));
    }
    if (shown !== video.status) {
      shown = video.status;
      player?.destroy();
      player = null;
      replace(stage);
      if (video.status === "READY") {
        player = new Player(video, (message) => showError(new Error(message)));
        stage.append(player.element);
      } else if (!FINAL_STATUSES.has(video.status)) {
        stage.append(h("div", { class: "waiting" }, "This video is being prepared. It plays here as soon as it is ready."));
      }
      replace(info, ...details(video));
    }
    return !FINAL_STATUSES.has(video.status);
  }

  function details(video: VideoDetails): HTMLElement[] {
    const media = video.metadata ?? {};
    const picture = media.video;
    const sound = media.audio;
    const rows: Array<[string, string]> = [
      ["Duration", formatDuration(video.duration_seconds ?? media.duration_seconds)],
      ["Resolution", picture?.width && picture.height ? `${picture.width} × ${picture.height}` : "–"],
      ["Frame rate", typeof picture?.fps === "number" ? `${Number(picture.fps.toFixed(3))} fps` : "–"],
      ["Video", picture?.codec ?? "–"],
      ["Audio", sound ? [sound.codec, sound.channels && `${sound.channels} ch`, sound.sample_rate && `${sound.sample_rate / 1000} kHz`].filter(Boolean).join(", ") : "none"],
      ["Size", formatBytes(media.size_bytes)],
      ["Uploaded", formatDate(video.uploaded_at ?? video.created_at)],
      ["Ready", formatDate(video.ready_at)],
    ];
    const table = h("dl", { class: "facts" }, ...rows.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
    const downloads = video.renditions.filter((r) => r.url);
    const list = downloads.length
      ? h(
          "ul",
          { class: "downloads" },
          ...downloads.map((r) =>
            h("li", {}, h("a", { href: r.url ?? "", download: "", rel: "noopener" }, `${r.name}`), ` · ${r.width ?? "?"} × ${r.height ?? "?"} · ${formatBytes(r.size_bytes)}`),
          ),
        )
      : h("p", { class: "muted" }, video.status === "READY" ? "No downloads for this video (long videos stream only)." : "Downloads appear once the video is ready.");
    const remove = h("button", { type: "button", class: "danger", onclick: () => confirmDelete(video) }, "Delete video");
    return [h("h2", {}, "Details"), table, h("h2", {}, "Downloads"), list, h("div", { class: "actions" }, remove)];
  }

  function confirmDelete(video: VideoDetails): void {
    const title = video.title || "Untitled";
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, "Delete this video?"),
      h("p", {}, "“", title, "” and all its files will be removed. This cannot be undone."),
    );
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Keep it");
    const confirm = h("button", { type: "button", class: "danger" }, "Delete");
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await app.api.deleteVideo(video.video_id);
        dialog.close();
        app.notify(`Deleted “${title}”.`);
        app.navigate("/");
      } catch (problem) {
        dialog.close();
        showError(problem instanceof ApiError ? problem : new Error(String(problem)));
      }
    });
    dialog.append(h("div", { class: "actions" }, cancel, confirm));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  }

  const poller = new Poller(
    async () => {
      try {
        return await load();
      } catch (problem) {
        showError(problem);
        return !(problem instanceof SessionExpired) && !(problem instanceof ApiError && problem.status === 404);
      }
    },
    () => app.live?.connected ?? false,
  );
  const unpush = app.live?.subscribe((push) => {
    // (a DELETED push: this page's own delete, which leaves the page; nothing left to load)
    if (push.video_id === videoId && push.status !== "DELETED") void load().catch(showError);
  });
  void load()
    .then((again) => again && poller.start())
    .catch((problem) => showError(problem));

  const back = h("a", { href: "/", "data-link": true, class: "back" }, "← My videos");
  return {
    element: h("section", { class: "watch" }, back, heading, status, error, stage, info),
    title: "Video",
    stop: () => {
      poller.stop();
      unpush?.();
      player?.destroy();
    },
  };
}

/** The video element, its source, the quality and captions menus and the seek-bar previews. */
class Player {
  readonly element: HTMLElement;
  private readonly video: HTMLVideoElement;
  private hls: Hls | null = null;
  private readonly quality = h("select", { id: "quality", "aria-label": "Quality" });
  // shown when the stream has subtitle tracks (Safari's own controls list them for its native HLS)
  private readonly captions = h("select", { id: "captions", "aria-label": "Captions" });
  private readonly captionsLabel = h("label", { for: "captions", hidden: true }, "Captions");

  constructor(
    private readonly details: VideoDetails,
    private readonly onError: (message: string) => void,
  ) {
    this.video = h("video", {
      controls: true,
      playsinline: true,
      preload: "metadata",
      poster: details.poster?.url ?? null,
      "aria-label": details.title || "Video",
    });
    const label = h("label", { for: "quality" }, "Quality");
    const scrubber = this.scrubber();
    this.captions.hidden = true;
    this.captions.addEventListener("change", () => this.chooseCaptions(Number(this.captions.value)));
    const controls = h("div", { class: "controls" }, label, this.quality, this.captionsLabel, this.captions);
    this.element = h("div", { class: "player" }, this.video, scrubber, controls);
    this.attach();
  }

  private attach(): void {
    const hls = this.details.playback?.hls;
    const mp4s = this.details.renditions.filter((r) => r.url);
    if (hls && Hls.isSupported()) {
      // the browser draws the cues of the chosen subtitle track (its own text tracks: text, never markup)
      const player = new Hls({ enableWorker: false, capLevelToPlayerSize: false, renderTextTracksNatively: true });
      this.hls = player;
      player.on(Hls.Events.MANIFEST_PARSED, (_event, data) => this.levels(data.levels));
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
        this.onError(`The video could not be played (${data.details}). Reload the page to try again.`);
      });
      player.loadSource(hls);
      player.attachMedia(this.video);
    } else if (hls && this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.video.src = hls; // Safari: native HLS picks the quality itself
      this.quality.append(h("option", { value: "auto" }, "Auto"));
      this.quality.disabled = true;
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

  private levels(levels: Level[]): void {
    const options = [h("option", { value: "-1" }, "Auto")];
    levels.forEach((level, index) => options.push(h("option", { value: String(index) }, `${level.height}p`)));
    replace(this.quality, ...options);
    this.quality.addEventListener("change", () => {
      if (this.hls) this.hls.currentLevel = Number(this.quality.value);
    });
  }

  /** The captions menu: "Off" and each subtitle track by its name; hidden when the stream has none. */
  private subtitles(tracks: MediaPlaylist[]): void {
    const options = [h("option", { value: "-1" }, "Off")];
    tracks.forEach((track, index) => options.push(h("option", { value: String(index) }, track.name || `Subtitles ${index + 1}`)));
    replace(this.captions, ...options);
    this.captions.hidden = this.captionsLabel.hidden = tracks.length === 0;
    this.showCaptions();
  }

  private chooseCaptions(index: number): void {
    if (!this.hls) return;
    this.hls.subtitleDisplay = index >= 0;
    this.hls.subtitleTrack = index;
  }

  /** The menu follows the track hls.js shows (a track marked DEFAULT in the stream starts on). */
  private showCaptions(): void {
    const hls = this.hls;
    if (!hls) return;
    this.captions.value = String(hls.subtitleDisplay ? hls.subtitleTrack : -1);
  }

  /** In auto, the menu says which rung is playing: "Auto (480p)". */
  private showAuto(): void {
    const hls = this.hls;
    const auto = this.quality.options[0];
    if (!hls || !auto) return;
    const level = hls.levels[hls.currentLevel];
    auto.textContent = hls.autoLevelEnabled && level ? `Auto (${level.height}p)` : "Auto";
  }

  /** A seek bar under the video that previews the frame under the pointer (the thumbnails track). */
  private scrubber(): HTMLElement {
    const duration = this.details.stream?.duration_seconds ?? this.details.duration_seconds ?? 0;
    const range = h("input", { type: "range", min: 0, max: duration || 1, step: 0.1, value: 0, "aria-label": "Seek", class: "seek" });
    const preview = h("div", { class: "preview", hidden: true, "aria-hidden": "true" });
    const wrap = h("div", { class: "scrubber" }, preview, range);
    this.video.addEventListener("timeupdate", () => {
      if (document.activeElement !== range) range.value = String(this.video.currentTime);
    });
    range.addEventListener("input", () => {
      this.video.currentTime = Number(range.value);
    });
    const url = this.details.playback?.thumbnails;
    if (!url || !duration) return wrap;
    let cues: Cue[] = [];
    fetch(url)
      .then((response) => (response.ok ? response.text() : ""))
      .then((text) => {
        cues = parseThumbnails(text);
      })
      .catch(() => undefined); // no previews: the seek bar still works
    const show = (share: number): void => {
      const cue = cueAt(cues, share * duration);
      if (!cue) return;
      const width = range.getBoundingClientRect().width;
      preview.hidden = false;
      preview.style.width = `${cue.w}px`;
      preview.style.height = `${cue.h}px`;
      preview.style.backgroundImage = `url("${cue.image.replace(/"/g, "%22")}")`;
      preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      preview.style.left = `${Math.min(Math.max(share * width - cue.w / 2, 0), Math.max(width - cue.w, 0))}px`;
      preview.dataset.time = formatDuration(share * duration);
    };
    const hide = (): void => {
      preview.hidden = true;
    };
    range.addEventListener("pointermove", (event) => {
      const box = range.getBoundingClientRect();
      show(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1));
    });
    range.addEventListener("pointerleave", hide);
    // dragging or the arrow keys: the frame at the new position
    range.addEventListener("input", () => show(Number(range.value) / duration));
    range.addEventListener("change", hide);
    range.addEventListener("blur", hide);
    return wrap;
  }

  destroy(): void {
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
  }
}
