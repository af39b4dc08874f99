// My videos, newest first, with the uploads of this page above them. Statuses change on screen
// (polling until the push channel exists); more on the "More videos" button (the API's cursor). An upload's
// row follows its video once uploaded (processing, failed) and goes when the video is READY or deleted.
import { ApiError, SessionExpired } from "../api";
import type { App, View } from "../app";
import { formatBytes, formatDate, formatDuration, h, replace, viewCount } from "../dom";
import { Poller } from "../live";
import { playableSeconds, playableText, statusBadge } from "../status";
import { FINAL_STATUSES, type VideoSummary } from "../types";
import type { Upload, UploadProgress } from "../upload";

export function libraryView(app: App): View {
  const videos = new Map<string, VideoSummary>();
  let order: string[] = [];
  let cursor: string | null = null;
  let loaded = false;
  const gone = new Set<string>(); // deleted while this page showed them
  let shownUploads = ""; // what the upload rows said when last drawn

  const error = h("p", { class: "error", role: "alert", hidden: true });
  const grid = h("ul", { class: "grid", "aria-label": "My videos", "aria-live": "polite" });
  const empty = h(
    "div",
    { class: "empty", hidden: true },
    h("h2", {}, "No videos yet"),
    h("p", {}, "Drop a video file here, or choose one, to upload your first video."),
  );
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void loadMore() }, "More videos");
  const uploadList = h("ul", { class: "uploads", "aria-label": "Uploads" });

  const input = h("input", { type: "file", id: "file-input", accept: "video/*,.mkv,.mts,.m2ts,.ts,.vob", multiple: true, class: "visually-hidden" });
  input.addEventListener("change", () => {
    if (input.files) addFiles(input.files);
    input.value = "";
  });
  const drop = h(
    "section",
    { class: "drop", "aria-label": "Upload videos" },
    h("p", {}, "Drag and drop videos here, or "),
    h("label", { for: "file-input", class: "button" }, "Choose files"),
    input,
  );
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer?.files) addFiles(event.dataTransfer.files);
  });

  function addFiles(files: FileList): void {
    const refused = app.uploads.add(Array.from(files));
    if (refused.length) app.notify(`Not a video, so not uploaded: ${refused.join(", ")}`, "error");
  }

  function showError(problem: unknown): void {
    if (problem instanceof SessionExpired) return; // the app sends the person to sign in
    error.hidden = false;
    error.textContent = problem instanceof ApiError || problem instanceof Error ? problem.message : String(problem);
  }

  function render(): void {
    const over = app.uploads.all.filter(settled);
    if (over.length) app.uploads.remove(...over); // (the uploads' listener draws the rows)
    else renderUploads(); // their videos' statuses may have moved on
    replace(grid, ...order.map((id) => videos.get(id)).filter((v) => v !== undefined).map(card));
    empty.hidden = !loaded || order.length > 0 || app.uploads.all.length > 0;
    more.hidden = !cursor;
  }

  function card(video: VideoSummary): HTMLElement {
    const title = video.title || "Untitled";
    const poster = video.poster?.url
      ? h("img", { src: video.poster.url, alt: "", loading: "lazy", width: 320, height: 180 })
      : h("div", { class: "placeholder", "aria-hidden": "true" }, video.status === "READY" ? "▶" : "…");
    const progress =
      video.status === "PROCESSING" && typeof video.progress === "number"
        ? h("progress", { max: 1, value: video.progress, "aria-label": `Processing ${title}` })
        : null;
    const href = `/videos/${encodeURIComponent(video.video_id)}`;
    return h(
      "li",
      { class: "card", "data-video-id": video.video_id, "data-status": video.status },
      h(
        "a",
        { href, "data-link": true, class: "card-link" },
        h("div", { class: "thumb" }, poster, video.duration_seconds ? h("span", { class: "duration" }, formatDuration(video.duration_seconds)) : null),
        h("h2", { class: "title", dir: "auto" }, title), // (under the page's h1)
      ),
      h(
        "p",
        { class: "meta" },
        statusBadge(video.status, video.progress),
        " ",
        h("time", { datetime: video.created_at ?? "" }, formatDate(video.created_at)),
        video.status === "READY" || video.views ? h("span", { class: "view-count" }, `· ${viewCount(video.views)}`) : null,
      ),
      progress,
      watchNow(video, title, href),
    );
  }

  /** While the rest is encoded: a link to watch the start already, and how much of it there is. */
  function watchNow(video: VideoSummary, title: string, href: string): HTMLElement | null {
    const seconds = playableSeconds(video);
    if (!seconds) return null;
    return h(
      "p",
      { class: "early" },
      h("a", { href, "data-link": true, class: "button watch-now", "aria-label": `Watch now: ${title}` }, "Watch now"),
      " ",
      h("span", { class: "playable" }, playableText(seconds, video.duration_seconds)),
    );
  }

  function merge(list: VideoSummary[], { append }: { append: boolean }): void {
    for (const video of list) {
      const known = videos.has(video.video_id);
      videos.set(video.video_id, { ...videos.get(video.video_id), ...video });
      if (!known) order = append ? [...order, video.video_id] : [video.video_id, ...order];
    }
    for (const [id, video] of videos) if (video.status === "DELETED") { videos.delete(id); gone.add(id); order = order.filter((o) => o !== id); }
    order.sort((a, b) => (videos.get(b)?.created_at ?? "").localeCompare(videos.get(a)?.created_at ?? ""));
  }

  async function refresh(): Promise<boolean> {
    const page = await app.api.listVideos();
    if (!loaded) cursor = page.next_cursor;
    loaded = true;
    error.hidden = true;
    merge(page.videos, { append: false });
    render();
    return [...videos.values()].some((v) => !FINAL_STATUSES.has(v.status)) || app.uploads.active();
  }

  async function loadMore(): Promise<void> {
    more.disabled = true;
    try {
      const page = await app.api.listVideos(cursor);
      cursor = page.next_cursor;
      merge(page.videos, { append: true });
      render();
    } catch (problem) {
      showError(problem);
    } finally {
      more.disabled = false;
    }
  }

  const poller = new Poller(
    async () => {
      try {
        return await refresh();
      } catch (problem) {
        showError(problem);
        return !(problem instanceof SessionExpired);
      }
    },
    () => app.live?.connected ?? false,
  );

  // pushed changes: a known card changes at once; a new video, or one now READY or first playable (its poster), is fetched
  const unpush = app.live?.subscribe((push) => {
    const known = videos.get(push.video_id);
    const firstPlayable = !!push.playable_seconds && !!known && !playableSeconds(known);
    if (!known || push.status === "READY" || firstPlayable) {
      void refresh().catch(showError);
      return;
    }
    // what plays only grows while processing (a push without the field keeps what the card had)
    const playable = push.status === "PROCESSING" ? Math.max(push.playable_seconds ?? 0, known.playable_seconds ?? 0) || null : null;
    merge([{ ...known, status: push.status, progress: push.progress, playable_seconds: playable, title: push.title ?? known.title }], { append: false });
    render();
  });

  /** The video an upload made, once uploaded and as this page knows it now. */
  function uploadedVideo(upload: Upload): VideoSummary | undefined {
    const id = upload.status.state === "done" ? upload.status.videoId : null;
    return id ? videos.get(id) : undefined;
  }

  /** An upload with nothing left to say: its video is READY (its card says so) or was deleted. */
  function settled(upload: Upload): boolean {
    const id = upload.status.state === "done" ? upload.status.videoId : null;
    return !!id && (gone.has(id) || videos.get(id)?.status === "READY");
  }

  function renderUploads(): void {
    // drawn again only when a row would change: a poll does not take the focus off a row's button
    const key = JSON.stringify(app.uploads.all.map((upload) => [upload.id, upload.status, uploadedVideo(upload)?.status, uploadedVideo(upload)?.progress]));
    if (key === shownUploads) return;
    shownUploads = key;
    replace(uploadList, ...app.uploads.all.map((upload) => uploadRow(upload)));
  }

  function uploadRow(upload: Upload): HTMLElement {
    const { state, sent, total } = upload.status;
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    const video = uploadedVideo(upload);
    const details = uploadDetails(upload.status, video);
    const button = upload.active
      ? h("button", { type: "button", class: "secondary", onclick: () => void upload.cancel(), "aria-label": `Cancel upload of ${upload.file.name}` }, "Cancel")
      : h("button", { type: "button", class: "secondary", onclick: () => app.uploads.remove(upload), "aria-label": `Dismiss ${upload.file.name}` }, "Dismiss");
    return h(
      "li",
      { class: `upload upload-${state}`, "data-state": state, "data-video-status": video?.status ?? null },
      h("span", { class: "name" }, upload.file.name, " ", h("small", {}, formatBytes(total))),
      h("progress", { max: 100, value: state === "done" ? 100 : percent, "aria-label": `Upload of ${upload.file.name}` }),
      h("span", { class: "details", role: state === "failed" ? "alert" : null }, details),
      button,
    );
  }

  const unsubscribe = app.uploads.subscribe((upload) => {
    renderUploads();
    if (upload?.status.state === "done" && upload.status.videoId && !videos.has(upload.status.videoId)) {
      // it is in the bucket: show it now; the catalog's record replaces this on the next refresh
      merge([{ video_id: upload.status.videoId, title: upload.file.name, status: "UPLOADED", created_at: new Date().toISOString(), duration_seconds: null }], { append: false });
      render();
      poller.start(1000);
    } else if (upload?.status.state === "starting") {
      render();
    }
  });

  renderUploads();
  void refresh()
    .then((again) => again && poller.start())
    .catch((problem) => {
      showError(problem);
      poller.start();
    });
  render();

  const element = h("section", { class: "library" }, h("h1", {}, "My videos"), drop, uploadList, error, empty, grid, more);
  return {
    element,
    title: "My videos",
    stop: () => {
      poller.stop();
      unsubscribe();
      unpush?.();
    },
  };
}

/** What an upload's row says: how the upload goes, then, once uploaded, what is becoming of its video. */
function uploadDetails(progress: UploadProgress, video: VideoSummary | undefined): string {
  const { state, sent, total, bytesPerSecond, secondsLeft, message } = progress;
  if (state === "uploading") {
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    return `${percent}% · ${bytesPerSecond ? `${formatBytes(bytesPerSecond)}/s` : "…"} · ${secondsLeft === null ? "estimating" : `${formatDuration(secondsLeft)} left`}`;
  }
  if (state !== "done") return { starting: "Starting…", finishing: "Finishing…", paused: message, failed: message, cancelled: message }[state] ?? "";
  if (video?.status === "PROCESSING") {
    return typeof video.progress === "number" ? `Uploaded: processing, ${Math.round(video.progress * 100)}% done` : "Uploaded: processing";
  }
  if (video?.status === "FAILED") return "Uploaded, but it could not be processed: its page says why.";
  return "Uploaded: processing starts shortly";
}
