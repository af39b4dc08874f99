// The website: load the stage's config, sign in (OIDC + PKCE), then route between the library, a
// video and the profile with the History API. "Latest videos" and a shared video's page are for anyone:
// they never send the person to sign in. Views are built with ../dom (text is never HTML).
import { Api } from "./api";
import type { App, View } from "./app";
import { Auth } from "./auth";
import { loadConfig } from "./config";
import { byId, h, replace } from "./dom";
import { PublicApi } from "./publicapi";
import { LiveUpdates } from "./push";
import { Uploads } from "./uploads";
import { latestView } from "./views/latest";
import { libraryView } from "./views/library";
import { profileView } from "./views/profile";
import { shareView } from "./views/share";
import { watchView } from "./views/watch";

const main = byId("main");
const nav = byId("nav");

/** A page for anyone, signed in or not (it never sends the person to sign in): "Latest videos", a shared video. */
function openPage(path: string): { shareId: string | null } | null {
  const shared = /^\/v\/([^/]+)$/.exec(path)?.[1];
  if (shared) return { shareId: decoded(shared) };
  return path === "/latest" ? { shareId: null } : null;
}

/** A path segment as typed (a malformed escape stays as it is: the API then says it is not found). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function fatal(message: string): void {
  replace(main, h("div", { class: "error", role: "alert" }, h("h1", {}, "The site could not start"), h("p", {}, message)));
}

async function boot(): Promise<void> {
  const config = await loadConfig();
  const auth = new Auth(config.oidc);
  const api = new Api(config, auth);
  const uploads = new Uploads(api);
  let current: View | null = null;
  let displayName: string | null = null;
  let expiredShown = false;
  let signedIn = false; // as the page shows it

  const notices = h("div", { class: "notices", "aria-live": "polite" });
  document.body.insertBefore(notices, main);

  const app: App = {
    config,
    api,
    publicApi: new PublicApi(config.apis.videos),
    auth,
    uploads,
    live: config.push_url ? new LiveUpdates(config.push_url, auth) : null,
    navigate(path, options = {}) {
      if (options.replace) history.replaceState(null, "", path);
      else history.pushState(null, "", path);
      void route();
    },
    notify(message, kind = "info") {
      const note = h("p", { class: `note note-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
      notices.append(note);
      window.setTimeout(() => note.remove(), 6000);
    },
  };

  auth.onExpired(() => {
    if (openPage(location.pathname)) {
      void renderNav(); // nothing on this page needs the session: signed out in the bar, and no sign-in
      return;
    }
    if (expiredShown) return;
    expiredShown = true;
    const here = location.pathname + location.search;
    if (!uploads.active()) {
      void auth.signIn(here, { replace: true }); // nothing in flight: straight back through sign-in, then here
      return;
    }
    // uploads are going straight to S3: let them finish, and offer to sign in when the person is ready
    notices.append(
      h(
        "div",
        { class: "note note-error", role: "alert" },
        "Your session has expired. Uploads in progress carry on; ",
        h("button", { type: "button", onclick: () => void auth.signIn(here) }, "Sign in again"),
      ),
    );
  });

  async function renderNav(): Promise<void> {
    const user = await auth.user();
    const here = (path: string) => (location.pathname === path ? "page" : null);
    const latest = h("a", { href: "/latest", "data-link": true, "aria-current": here("/latest") }, "Latest videos");
    if (!user) {
      replace(nav, latest, h("button", { type: "button", onclick: () => void auth.signIn(location.pathname + location.search) }, "Sign in"));
      return;
    }
    const name = displayName ?? String(user.profile.preferred_username ?? user.profile.name ?? user.profile.email ?? "you");
    replace(
      nav,
      latest,
      h("a", { href: "/", "data-link": true, "aria-current": here("/") }, "My videos"),
      h("a", { href: "/profile", "data-link": true, class: "who", "aria-label": `Profile of ${name}`, "aria-current": here("/profile") }, name),
      h("button", { type: "button", class: "secondary", onclick: () => { app.live?.stop(); void auth.signOut(); } }, "Sign out"),
    );
  }

  /** A page of the site reached while signed out after signing out (Back, say): it offers sign-in, it does not go. */
  function signedOutView(here: string): View {
    return {
      title: "Signed out",
      element: h(
        "section",
        { class: "welcome" },
        h("h1", {}, "You are signed out"),
        h("p", {}, "Sign in again to see this page."),
        h("button", { type: "button", onclick: () => void auth.signIn(here) }, "Sign in again"),
      ),
    };
  }

  function show(view: View): void {
    current?.stop?.();
    current = view;
    document.title = `${view.title} · 24-Hour Video`;
    replace(main, view.element);
  }

  async function route(): Promise<void> {
    const path = location.pathname;
    if (path === "/callback") {
      try {
        const back = await auth.completeSignIn();
        expiredShown = false;
        history.replaceState(null, "", back);
      } catch (problem) {
        history.replaceState(null, "", "/");
        app.notify(`Sign-in did not complete: ${problem instanceof Error ? problem.message : String(problem)}`, "error");
      }
      return route();
    }
    await renderNav();
    const user = await auth.user();
    signedIn = user !== null;
    const open = openPage(path);
    if (!user && !open) {
      const here = path + location.search;
      if (path !== "/" && auth.signedOut) return show(signedOutView(here)); // (Back after signing out: no redirect)
      if (path !== "/") return auth.signIn(here, { replace: true }); // a deep link: sign in, then come back
      show({
        title: "Welcome",
        element: h(
          "section",
          { class: "welcome" },
          h("h1", {}, "Your videos, anywhere"),
          h("p", {}, "Upload videos of any length, watch them stream in the quality your connection allows. Only you can see them, until you share them."),
          h("button", { type: "button", onclick: () => void auth.signIn("/") }, "Sign in to start"),
          h("p", { class: "also" }, h("a", { href: "/latest", "data-link": true }, "Watch the latest videos"), " shared by everyone, without signing in."),
        ),
      });
      return;
    }
    if (user && app.live && !app.live.connected) void app.live.start();
    if (user && displayName === null) {
      displayName = "";
      void api.getMe().then((me) => {
        displayName = me.display_name || null;
        void renderNav();
      }).catch(() => undefined);
    }
    const video = /^\/videos\/([^/]+)$/.exec(path);
    if (open) show(open.shareId ? shareView(app, open.shareId) : latestView(app));
    else if (path === "/") show(libraryView(app));
    else if (video?.[1]) show(watchView(app, decodeURIComponent(video[1])));
    else if (path === "/profile") show(profileView(app, (name) => { displayName = name; void renderNav(); }));
    else show({ title: "Not found", element: h("section", {}, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-link": true }, "Go to my videos"))) });
    main.focus({ preventScroll: true });
  }

  document.addEventListener("click", (event) => {
    const link = (event.target as Element | null)?.closest?.("a[data-link]");
    if (!(link instanceof HTMLAnchorElement) || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || link.origin !== location.origin) return;
    event.preventDefault();
    app.navigate(link.pathname + link.search);
  });
  window.addEventListener("popstate", () => void route());
  // a page kept in the back-forward cache (Back after signing out): shown again as it was, so again if that is stale
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    void auth.user().then((user) => {
      if ((user !== null) !== signedIn) void route();
    });
  });
  await route();
}

boot().catch((problem) => fatal(problem instanceof Error ? problem.message : String(problem)));
