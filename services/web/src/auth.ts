// Sign-in: OpenID Connect Authorization Code + PKCE through oidc-client-ts, against Cognito, Auth0 or
// the local stack's issuer. The user (tokens) lives in sessionStorage; where the person was goes
// through the identity provider in the sign-in request's state and comes back on /callback. A sign-out is
// remembered in the tab (sessionStorage) until the next sign-in: pages then offer sign-in instead of going there.
import { type User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { OidcConfig } from "./config";

export interface SignInState {
  returnTo: string;
}

const SIGNED_OUT = "video24.signedOut";

export class Auth {
  private readonly manager: UserManager;
  private expiredHandlers: Array<() => void> = [];

  constructor(config: OidcConfig) {
    const origin = window.location.origin;
    this.manager = new UserManager({
      authority: config.authority,
      client_id: config.client_id,
      redirect_uri: `${origin}/callback`,
      post_logout_redirect_uri: `${origin}/`,
      response_type: "code",
      scope: config.scope,
      extraQueryParams: config.extra_query_params,
      metadataSeed: config.metadata_seed,
      loadUserInfo: false,
      automaticSilentRenew: false,
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    });
    this.manager.events.addAccessTokenExpired(() => {
      for (const handler of this.expiredHandlers) handler();
    });
  }

  /** Called when the session's access token expires (or the API refuses it). */
  onExpired(handler: () => void): void {
    this.expiredHandlers.push(handler);
  }

  expired(): void {
    for (const handler of this.expiredHandlers) handler();
  }

  async user(): Promise<User | null> {
    const user = await this.manager.getUser();
    return user && !user.expired ? user : null;
  }

  async accessToken(): Promise<string | null> {
    return (await this.user())?.access_token ?? null;
  }

  /** Whether the person signed out in this tab (and has not signed in since). */
  get signedOut(): boolean {
    return window.sessionStorage.getItem(SIGNED_OUT) !== null;
  }

  /** Off to the identity provider; back on /callback, then to `returnTo`. `replace`: for a redirect the person did
   * not ask for, the page that sent them is replaced in the history (Back from the sign-in form does not come back
   * to a page that sends them there again). */
  async signIn(returnTo: string, { replace = false }: { replace?: boolean } = {}): Promise<void> {
    await this.manager.removeUser();
    const state: SignInState = { returnTo: safeReturn(returnTo) };
    await this.manager.signinRedirect({ state, redirectMethod: replace ? "replace" : "assign" });
  }

  /** Finish the sign-in on /callback: the path to go back to. */
  async completeSignIn(): Promise<string> {
    const user = await this.manager.signinRedirectCallback();
    window.sessionStorage.removeItem(SIGNED_OUT);
    const state = user.state as Partial<SignInState> | undefined;
    return safeReturn(state?.returnTo ?? "/");
  }

  async signOut(): Promise<void> {
    const user = await this.manager.getUser();
    await this.manager.removeUser();
    window.sessionStorage.setItem(SIGNED_OUT, "1");
    try {
      await this.manager.signoutRedirect(user?.id_token ? { id_token_hint: user.id_token } : {});
    } catch {
      // an identity provider without an end-session endpoint: signed out of this site only
      window.location.assign("/");
    }
  }
}

/** Only a path on this site (never another origin, never the callback itself). */
export function safeReturn(path: string): string {
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/callback")) return "/";
  return path;
}
