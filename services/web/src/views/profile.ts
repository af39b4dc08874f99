// Who I am (what the token proved) and the display name I choose.
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
      const profile = await app.api.putMe(name);
      message.textContent = "Saved.";
      show(profile);
      onChanged(profile.display_name ?? name);
    } catch (problem) {
      if (!(problem instanceof SessionExpired)) message.textContent = problem instanceof Error ? problem.message : String(problem);
    } finally {
      save.disabled = false;
    }
  });

  void app.api
    .getMe()
    .then((profile) => {
      if (!edited) input.value = profile.display_name ?? "";
      show(profile);
    })
    .catch((problem) => {
      if (!(problem instanceof SessionExpired)) message.textContent = problem instanceof Error ? problem.message : String(problem);
    });

  return { element: h("section", { class: "profile" }, h("h1", {}, "Profile"), facts, form, message), title: "Profile" };
}
