import type { Api } from "./api";
import type { Auth } from "./auth";
import type { SiteConfig } from "./config";
import type { PublicApi } from "./publicapi";
import type { LiveUpdates } from "./push";
import type { Uploads } from "./uploads";

/** What a view gets: the API, the uploads, and a way to move or tell the person something. */
export interface App {
  config: SiteConfig;
  api: Api;
  publicApi: PublicApi; // the routes for anyone: no token, never a sign-in
  auth: Auth;
  uploads: Uploads;
  live: LiveUpdates | null; // the push channel, when the stage has one
  navigate(path: string, options?: { replace?: boolean }): void;
  notify(message: string, kind?: "info" | "error"): void;
}

/** A mounted view: the router calls `stop` before showing the next one. */
export interface View {
  element: HTMLElement;
  title: string;
  stop?: () => void;
}
