// The embed page, /embed/{share_id}: a shared video's player alone, for an <iframe> on any site (its own entry: no
// sign-in, no navigation). The player fills the frame; the title links to the share page in a new tab. Playback
// is ./shared's: fresh links before they end, the view beacon, words when the video is no longer shared.
import { loadConfig } from "./config";
import { byId, h, replace } from "./dom";
import { PublicApi } from "./publicapi";
import { SharedPlayback } from "./shared";

const main = byId("embed");

function start(): void {
  const segment = /^\/embed\/([^/]+)\/?$/.exec(location.pathname)?.[1] ?? "";
  let shareId = segment;
  try {
    shareId = decodeURIComponent(segment);
  } catch {
    // a malformed escape: asked for as it is (the API then says it is not found)
  }
  const page = `${location.origin}/v/${encodeURIComponent(shareId)}`;
  const title = h("a", { href: page, target: "_blank", rel: "noopener", dir: "auto" }, "24-Hour Video");
  const problem = h("p", { class: "problem", role: "alert", hidden: true });
  const stage = h("div", { class: "stage" });
  replace(main, h("h1", { class: "embed-title" }, title), problem, stage);
  if (!shareId) {
    replace(stage, h("p", { class: "stopped", role: "alert" }, "No video here: the address names none."));
    return;
  }
  void loadConfig()
    .then((config) => {
      new SharedPlayback(new PublicApi(config.apis.videos), shareId, stage, {
        shown(video) {
          title.textContent = video.title || "Untitled";
          document.title = `${video.title || "Untitled"} · 24-Hour Video`;
        },
        gone() {
          title.textContent = "Video not available";
          document.title = "Video not available · 24-Hour Video";
        },
        problem(message) {
          problem.hidden = message === null;
          problem.textContent = message ?? "";
        },
      }).start();
    })
    .catch((failure: unknown) => {
      replace(stage, h("p", { class: "stopped", role: "alert" }, `The player could not start: ${failure instanceof Error ? failure.message : String(failure)}`));
    });
}

start();
