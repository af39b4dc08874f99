// A shared video's page, /v/{share_id}, for anyone (signed in or not: it never asks anyone to sign in): its title,
// who shared it, when, the player (./shared: fresh links, the view beacon) and its description. Its <head> gets
// the oEmbed link of the page while it is shown, so tools that speak oEmbed find the embed.
import type { App, View } from "../app";
import { formatDay, h, replace } from "../dom";
import { SharedPlayback } from "../shared";
import type { SharedVideo } from "../types";

export function shareView(app: App, shareId: string): View {
  const heading = h("h1", { dir: "auto" }, "Shared video"); // (a title in Hebrew or Arabic reads right to left)
  const byline = h("p", { class: "byline", hidden: true });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const stage = h("div", { class: "stage" }, h("p", { class: "loading" }, "Loading…"));
  const description = h("p", { class: "description", dir: "auto", hidden: true });
  const latest = h("p", { hidden: true }, h("a", { href: "/latest", "data-link": true }, "See the latest videos"));

  const oembed = h("link", {
    rel: "alternate",
    type: "application/json+oembed",
    href: app.publicApi.oembedUrl(`${location.origin}/v/${encodeURIComponent(shareId)}`),
  });
  document.head.append(oembed);

  const playback = new SharedPlayback(app.publicApi, shareId, stage, {
    shown(video: SharedVideo) {
      const title = video.title || "Untitled";
      heading.textContent = title;
      document.title = `${title} · 24-Hour Video`;
      replace(
        byline,
        video.owner_name ? h("span", { class: "owner" }, `by ${video.owner_name}`) : null,
        video.owner_name ? " · " : null,
        h("time", { datetime: video.created_at ?? "" }, formatDay(video.created_at)),
      );
      byline.hidden = false;
      description.textContent = video.description;
      description.hidden = !video.description;
    },
    gone() {
      heading.textContent = "Video not available";
      document.title = "Video not available · 24-Hour Video";
      byline.hidden = description.hidden = true;
      latest.hidden = false;
      oembed.remove();
    },
    problem(message) {
      problem.hidden = message === null;
      problem.textContent = message ?? "";
    },
  });
  playback.start();

  return {
    title: "Shared video",
    element: h("section", { class: "watch shared" }, heading, byline, problem, stage, description, latest),
    stop: () => {
      playback.stop();
      oembed.remove();
    },
  };
}
