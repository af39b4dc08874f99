// The owner's controls on a video's page: its title and description, who can watch it, and, while it is shared,
// its link and embed code (each with Copy) and "Make a new link" (the old one stops working, after a confirmation).
// Every change is a PATCH /videos/{id}; what the API refuses is said in its words beside the control.
import { SessionExpired } from "../api";
import type { App } from "../app";
import { h } from "../dom";
import type { VideoChange, VideoDetails, Visibility } from "../types";

const CHOICES: Array<[Visibility, string, string]> = [
  ["private", "Private", "Only you can watch it."],
  ["unlisted", "Unlisted", "Anyone with the link can watch it. It is not listed on Latest videos."],
  ["public", "Public", "Anyone can watch it, and it is listed on Latest videos."],
];
const SAID: Record<Visibility, string> = {
  private: "Private: only you can watch it. Its link no longer plays.",
  unlisted: "Unlisted: anyone with the link can watch it.",
  public: "Public: anyone can watch it, and it is on Latest videos.",
};

export interface SharingPanel {
  element: HTMLElement;
  /** The video as the page has it now (a poll, a push): the fields the owner is editing are left alone. */
  show(video: VideoDetails): void;
}

/** `changed`: a PATCH answered with the video as it is now (the page shows it). */
export function sharingPanel(app: App, videoId: string, changed: (video: VideoDetails) => void): SharingPanel {
  let video: VideoDetails | null = null;
  let edited = false; // typed into since the last save: a poll does not overwrite it
  let busy = false; // a change is on its way: the choice shown is the one asked for

  // --- title and description
  const title = h("input", { id: "edit-title", name: "title", maxlength: 255, required: true, autocomplete: "off", dir: "auto" });
  const description = h("textarea", { id: "edit-description", name: "description", maxlength: 5000, rows: 4, dir: "auto" });
  const saved = says();
  const save = h("button", { type: "submit" }, "Save");
  const form = h(
    "form",
    { class: "edit", "aria-labelledby": "edit-heading" },
    h("label", { for: "edit-title" }, "Title"),
    title,
    h("label", { for: "edit-description" }, "Description"),
    description,
    h("div", { class: "row" }, save),
    saved,
  );
  for (const field of [title, description]) field.addEventListener("input", () => (edited = true));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = title.value.trim();
    if (!name) return tell(saved, "A title cannot be empty.", true);
    void change({ title: name, description: description.value }, saved, save, () => {
      edited = false;
      return "Saved.";
    });
  });

  // --- who can watch
  const radios = new Map<Visibility, HTMLInputElement>();
  const shared = says();
  const choices = CHOICES.map(([value, label, hint]) => {
    const id = `visibility-${value}`;
    const radio = h("input", { type: "radio", name: "visibility", id, value, "aria-describedby": `${id}-hint` });
    radios.set(value, radio);
    radio.addEventListener("change", () => {
      if (!radio.checked || !video || video.visibility === value) return;
      const before = video.visibility ?? "private";
      void change({ visibility: value }, shared, null, () => SAID[value], () => check(before));
    });
    return h("div", { class: "choice" }, radio, h("label", { for: id }, label), h("small", { id: `${id}-hint` }, hint));
  });
  const audience = h("fieldset", { class: "audience" }, h("legend", {}, "Who can watch"), ...choices);

  // --- the link and the embed code, while shared
  const link = h("input", { id: "share-link", readonly: true, "aria-describedby": "share-hint" });
  const code = h("textarea", { id: "embed-code", readonly: true, rows: 4 });
  const copied = says();
  const copyLink = h("button", { type: "button", class: "secondary", "aria-label": "Copy the share link" }, "Copy");
  const copyCode = h("button", { type: "button", class: "secondary", "aria-label": "Copy the embed code" }, "Copy");
  copyLink.addEventListener("click", () => void copy(link, "The link"));
  copyCode.addEventListener("click", () => void copy(code, "The embed code"));
  const renew = h("button", { type: "button", class: "secondary", onclick: () => confirmNewLink() }, "Make a new link");
  const links = h(
    "div",
    { class: "links", hidden: true },
    h("label", { for: "share-link" }, "Share link"),
    h("div", { class: "row" }, link, copyLink),
    h("p", { id: "share-hint", class: "hint" }, "It plays for anyone who has it, without signing in."),
    h("label", { for: "embed-code" }, "Embed code"),
    h("div", { class: "row" }, code, copyCode),
    copied,
    h("div", { class: "row" }, renew),
  );

  const element = h(
    "section",
    { class: "sharing" },
    h("h2", { id: "edit-heading" }, "Title and description"),
    form,
    h("h2", {}, "Sharing"),
    audience,
    shared,
    links,
  );

  function says(): HTMLElement {
    return h("p", { class: "says", "aria-live": "polite" });
  }

  function tell(where: HTMLElement, words: string, refused = false): void {
    where.textContent = words;
    where.classList.toggle("refused", refused);
  }

  function check(value: Visibility): void {
    const radio = radios.get(value);
    if (radio) radio.checked = true;
  }

  /** PATCH, then show the video as it is now; `done` says what changed, `undo` puts a refused choice back. */
  async function change(
    body: VideoChange,
    where: HTMLElement,
    button: HTMLButtonElement | null,
    done: () => string,
    undo?: () => void,
  ): Promise<void> {
    busy = true;
    if (button) button.disabled = true;
    tell(where, "Saving…");
    try {
      const now = await app.api.updateVideo(videoId, body);
      busy = false;
      const words = done();
      show(now);
      changed(now);
      tell(where, words);
    } catch (problem) {
      busy = false;
      undo?.();
      if (problem instanceof SessionExpired) tell(where, problem.message, true);
      else tell(where, `Not saved: ${problem instanceof Error ? problem.message : String(problem)}`, true);
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function copy(field: HTMLInputElement | HTMLTextAreaElement, what: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(field.value);
      tell(copied, `${what} is copied.`);
    } catch {
      field.focus();
      field.select(); // no clipboard here (or it was refused): selected for the keyboard
      tell(copied, `${what} is selected: press Ctrl+C (⌘C on a Mac) to copy it.`);
    }
  }

  function confirmNewLink(): void {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "new-link-title" },
      h("h2", { id: "new-link-title" }, "Make a new link?"),
      h("p", {}, "The current link stops working for good: people who have it, and pages that embed it, can no longer watch. Share the new link instead."),
    );
    const keep = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Keep this link");
    const make = h("button", { type: "button" }, "Make a new link");
    make.addEventListener("click", () => {
      dialog.close();
      void change({ new_share_link: true }, copied, renew, () => "A new link is made: the old one no longer plays.");
    });
    dialog.append(h("div", { class: "actions" }, keep, make));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    keep.focus();
  }

  function show(now: VideoDetails): void {
    video = now;
    if (!edited) {
      title.value = now.title ?? "";
      description.value = now.description ?? "";
    }
    if (!busy) check(now.visibility ?? "private");
    const shareId = now.visibility !== "private" ? now.share_id : null;
    links.hidden = !shareId;
    if (shareId) {
      const page = `${location.origin}/v/${encodeURIComponent(shareId)}`;
      const embed = `${location.origin}/embed/${encodeURIComponent(shareId)}`;
      link.value = page;
      code.value =
        `<iframe src="${attribute(embed)}" width="640" height="360" title="${attribute(now.title || "Video")}" ` +
        `frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
    }
  }

  return { element, show };
}

/** Text as an HTML attribute's value, for the embed code the owner pastes elsewhere (a title is anyone's text). */
function attribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
