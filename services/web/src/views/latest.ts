// "Latest videos": everyone's public videos, newest first (GET /public/videos, no token: signed in or not, nothing
// here asks anyone to sign in). Each card opens the video's share page; "More videos" follows the API's cursor.
import type { App, View } from "../app";
import { formatDay, formatDuration, h, replace } from "../dom";
import type { PublicVideo } from "../types";

export function latestView(app: App): View {
  const videos: PublicVideo[] = [];
  let cursor: string | null = null;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const grid = h("ul", { class: "grid", "aria-label": "Latest videos", "aria-busy": "true" });
  const empty = h("p", { class: "empty", hidden: true }, "No public videos yet.");
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => void load() }, "More videos");
  let stopped = false;

  async function load(): Promise<void> {
    more.disabled = true;
    grid.setAttribute("aria-busy", "true");
    try {
      const page = await app.publicApi.publicVideos(cursor);
      if (stopped) return;
      const known = new Set(videos.map((video) => video.share_id));
      videos.push(...page.videos.filter((video) => !known.has(video.share_id)));
      cursor = page.next_cursor;
      error.hidden = true;
      replace(grid, ...videos.map(card));
      empty.hidden = videos.length > 0;
      more.hidden = !cursor;
    } catch (problem) {
      error.hidden = false;
      error.textContent = problem instanceof Error ? problem.message : String(problem);
    } finally {
      more.disabled = false;
      grid.setAttribute("aria-busy", "false");
    }
  }

  void load();
  return {
    title: "Latest videos",
    element: h("section", { class: "latest" }, h("h1", {}, "Latest videos"), error, empty, grid, more),
    stop: () => {
      stopped = true;
    },
  };
}

function card(video: PublicVideo): HTMLElement {
  const title = video.title || "Untitled";
  const poster = video.poster?.url
    ? h("img", { src: video.poster.url, alt: "", loading: "lazy", width: 320, height: 180 })
    : h("div", { class: "placeholder", "aria-hidden": "true" }, "▶");
  return h(
    "li",
    { class: "card", "data-share-id": video.share_id },
    h(
      "a",
      { href: `/v/${encodeURIComponent(video.share_id)}`, "data-link": true, class: "card-link" },
      h("div", { class: "thumb" }, poster, video.duration_seconds ? h("span", { class: "duration" }, formatDuration(video.duration_seconds)) : null),
      h("h2", { class: "title", dir: "auto" }, title),
    ),
    h(
      "p",
      { class: "meta" },
      video.owner_name ? h("span", { class: "owner" }, `by ${video.owner_name}`) : null,
      h("time", { datetime: video.created_at ?? "" }, formatDay(video.created_at)),
    ),
  );
}
