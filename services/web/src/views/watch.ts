// One video: the player (./player: HLS, with quality and captions menus and seek-bar previews), its views, the
// owner's title, description and sharing controls (./sharing), the video's details, its downloads, and delete
// (with a confirmation). While the video is still being encoded its start plays already: the player then follows
// it to READY, and stops with words if it fails or is deleted. A view is counted when it first plays (../beacon).
import { ApiError, SessionExpired } from "../api";
import type { App, View } from "../app";
import { countViewOnPlay } from "../beacon";
import { formatBytes, formatDate, formatDuration, h, replace, viewCount } from "../dom";
import { Poller } from "../live";
import { Player } from "../player";
import { playableSeconds, playableText, statusBadge } from "../status";
import { FINAL_STATUSES, type VideoDetails } from "../types";
import { type SharingPanel, sharingPanel } from "./sharing";

export function watchView(app: App, videoId: string): View {
  const heading = h("h1", { dir: "auto" }, "Video");
  const status = h("p", { class: "status" });
  // "0:18 of 0:40 ready" while the rest is encoded: read out as it grows
  const playable = h("p", { class: "playable", role: "status", "aria-live": "polite", hidden: true });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const views = h("p", { class: "views", hidden: true });
  const stage = h("div", { class: "stage" });
  const owner = h("div", { class: "owner-controls" });
  const info = h("div", { class: "info" });
  let player: Player | null = null;
  let panel: SharingPanel | null = null;
  let unbeacon: (() => void) | null = null;
  let shown: string | null = null; // the status the page shows
  let stopped = false; // playback ended for good (failed, deleted, a fatal error): the words stay, no new player
  let gone = false; // deleted while shown: nothing left to ask about

  function showError(problem: unknown): void {
    if (problem instanceof SessionExpired) return;
    error.hidden = false;
    error.textContent = problem instanceof Error ? problem.message : String(problem);
  }

  async function load(): Promise<boolean> {
    const video = await app.api.getVideo(videoId);
    if (gone) return false;
    error.hidden = true;
    return show(video);
  }

  /** The page from the video as the API gives it (GET, or a PATCH's answer): whether it can still change. */
  function show(video: VideoDetails): boolean {
    const title = video.title || "Untitled";
    heading.textContent = title;
    document.title = `${title} · 24-Hour Video`;
    replace(status, statusBadge(video.status, video.progress), video.status === "FAILED" && video.failure ? ` ${video.failure.reason}` : "");
    if (video.status === "PROCESSING" && typeof video.progress === "number") {
      status.append(" ", h("progress", { max: 1, value: video.progress, "aria-label": "Processing" }));
    }
    views.textContent = viewCount(video.views);
    views.hidden = video.status !== "READY" && !video.views;
    showPlayable(video);
    follow(video);
    if (shown !== video.status) {
      shown = video.status;
      replace(info, ...details(video));
    }
    if (!panel && video.status !== "DELETED") {
      panel = sharingPanel(app, videoId, (now) => void show(now));
      replace(owner, panel.element);
    }
    panel?.show(video);
    return !FINAL_STATUSES.has(video.status);
  }

  function showPlayable(video: VideoDetails): void {
    const seconds = playableSeconds(video);
    const text = seconds ? playableText(seconds, video.duration_seconds ?? video.metadata?.duration_seconds) : "";
    playable.hidden = !seconds;
    if (playable.textContent !== text) playable.textContent = text; // (a live region: changed only when it changes)
  }

  /** The stage: a player from the moment the video plays, kept (never rebuilt) while it plays on to READY. */
  function follow(video: VideoDetails): void {
    if (stopped) return;
    if (player) {
      if (video.status === "FAILED") end(`Encoding failed: ${(video.failure?.reason ?? "the video could not be encoded").replace(/[.!?]\s*$/, "")}. Playback stopped.`);
      else if (video.status === "DELETED") end("This video was deleted.");
      else player.update(video);
      return;
    }
    const early = video.status === "PROCESSING" && !!video.playback && Player.playsEarly();
    if (video.status === "READY" || early) {
      const playing = new Player(video, playerFailed);
      player = playing;
      unbeacon = countViewOnPlay(app.publicApi, videoId, playing.video, () => playing.link);
      replace(stage, playing.element);
    } else if (shown !== video.status) {
      const waiting = h("div", { class: "waiting" }, "This video is being prepared. Its start plays here as soon as it is encoded.");
      replace(stage, FINAL_STATUSES.has(video.status) ? null : waiting);
    }
  }

  /** Playback cannot go on: stop the player (never leave it frozen) and say why in words. */
  function end(words: string): void {
    stopped = true;
    unbeacon?.();
    player?.destroy();
    player = null;
    replace(stage, h("p", { class: "stopped", role: "alert" }, words));
  }

  function deleted(): void {
    gone = true;
    poller.stop();
    end("This video was deleted.");
    replace(status, statusBadge("DELETED"));
    playable.hidden = views.hidden = true;
    panel = null;
    replace(owner);
    replace(info); // nothing left to download or delete
  }

  /** A fatal player error: often the video failing or going away (a playlist 404): the catalog says which. */
  function playerFailed(message: string): void {
    void refresh().then(() => {
      if (player) end(message);
    });
  }

  /** load(), its failure shown: whether to keep asking. */
  async function refresh(): Promise<boolean> {
    try {
      return await load();
    } catch (problem) {
      const missing = problem instanceof ApiError && problem.status === 404;
      if (missing && shown !== null) {
        deleted(); // it was here a moment ago
        return false;
      }
      showError(problem);
      return !(problem instanceof SessionExpired) && !missing;
    }
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

  const poller = new Poller(refresh, () => app.live?.connected ?? false);
  const unpush = app.live?.subscribe((push) => {
    if (push.video_id !== videoId || gone) return;
    // (a DELETED push is also this page's own delete, which then leaves the page)
    if (push.status === "DELETED") deleted();
    else void refresh();
  });
  void refresh().then((again) => again && poller.start());

  const back = h("a", { href: "/", "data-link": true, class: "back" }, "← My videos");
  return {
    element: h("section", { class: "watch" }, back, heading, status, views, playable, error, stage, owner, info),
    title: "Video",
    stop: () => {
      poller.stop();
      unpush?.();
      unbeacon?.();
      player?.destroy();
    },
  };
}
