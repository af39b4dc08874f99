// Who I am (what the token proved), the display name I choose, and whether I am e-mailed about my videos.
import { SessionExpired } from "../api";
import type { App, View } from "../app";
import { h, replace } from "../dom";
import type { Profile } from "../types";

export function profileView(app: App, onChanged: (name: string) => void): View {
  const facts = h("dl", { class: "facts" });
  const show = (profile: Profile): void => {
    const rows: Array<[string, string]> = [
      ["Display name", profile.display_name ?? "(not set)"],
      ["User name", profile.username ?? "–"],
      ["E-mail", profile.email ?? "–"],
      ["User id", profile.sub],
    ];
    replace(facts, ...rows.flatMap(([name, value]) => [h("dt", {}, name), h("dd", { "data-field": name }, value)]));
  };
  const message = h("p", { class: "notice", role: "status" });
  const input = h("input", { id: "display-name", name: "display_name", maxlength: 64, required: true, autocomplete: "nickname" });
  let edited = false; // typed into before the profile arrived: keep what was typed
  input.addEventListener("input", () => {
    edited = true;
  });
  const save = h("button", { type: "submit" }, "Save");
  const form = h(
    "form",
    { class: "profile-form" },
    h("label", { for: "display-name" }, "Display name"),
    input,
    save,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      message.textContent = "A display name cannot be empty.";
      return;
    }
    save.disabled = true;
    try {
      const profile = await app.api.putMe({ display_name: name });
      message.textContent = "Saved.";
      show(profile);
      onChanged(profile.display_name ?? name);
    } catch (problem) {
      if (!(problem instanceof SessionExpired)) message.textContent = problem instanceof Error ? problem.message : String(problem);
    } finally {
      save.disabled = false;
    }
  });

  // E-mail about my videos: saved as soon as it is ticked or unticked (to the address my sign-in gives)
  const mail = h("input", { type: "checkbox", id: "email-notifications", name: "email_notifications", disabled: true });
  const mailHint = h("span", { class: "hint", id: "email-hint" });
  const mailMessage = h("p", { class: "hint", role: "status", id: "email-status" });
  const showMail = (profile: Profile): void => {
    mail.checked = profile.email_notifications;
    mail.disabled = !profile.email && !profile.email_notifications;
    mailHint.textContent = profile.email ? `(to ${profile.email})` : "(your sign-in gives no e-mail address)";
  };
  mail.addEventListener("change", async () => {
    const wanted = mail.checked;
    mail.disabled = true;
    try {
      const profile = await app.api.putMe({ email_notifications: wanted });
      mailMessage.textContent = profile.email_notifications ? "You will be e-mailed when a video is ready or fails." : "No more e-mail.";
      showMail(profile);
    } catch (problem) {
      mail.checked = !wanted;
      mail.disabled = false;
      if (!(problem instanceof SessionExpired)) mailMessage.textContent = problem instanceof Error ? problem.message : String(problem);
    }
  });
  const mailForm = h(
    "div",
    { class: "profile-form" },
    mail,
    h("label", { for: "email-notifications" }, "E-mail me when a video is ready or fails"),
    mailHint,
  );

  void app.api
    .getMe()
    .then((profile) => {
      if (!edited) input.value = profile.display_name ?? "";
      show(profile);
      showMail(profile);
    })
    .catch((problem) => {
      if (!(problem instanceof SessionExpired)) message.textContent = problem instanceof Error ? problem.message : String(problem);
    });

  return { element: h("section", { class: "profile" }, h("h1", {}, "Profile"), facts, form, message, mailForm, mailMessage), title: "Profile" };
}
