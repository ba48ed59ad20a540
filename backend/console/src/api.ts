// The console's one door to the server: the TypeScript client generated from
// api-spec/openapi.yaml (`make clients`), configured for the host chosen and the token
// of this page's session. The token lives in this module's memory only: never in a
// URL, localStorage, sessionStorage or a cookie; a reload signs out.

import {
  AuditApi,
  Configuration,
  ConsoleApi,
  GroupApi,
  InviteApi,
  ResponseError,
  ServerApi,
  UserApi,
} from "client";

const root = document.documentElement;
/** The VirtualHost that served the page, and every host the server serves. */
export const pageHost = root.dataset.host ?? "";
export const hosts = (root.dataset.hosts ?? "").split(" ").filter((h) => h.length > 0);

/** The API's base path: the page is `<base>/console/`, wherever a proxy mounts it. */
export const basePath = location.pathname.replace(/\/console\/.*$/, "").replace(/\/console$/, "");

interface Session {
  token: string;
  jid: string;
  /** Minted by a password sign-in (revoked at sign-out) or pasted (left alone). */
  minted: boolean;
  expires?: number;
}

let host = pageHost;
/** One session per host (tokens are per host). */
const sessions = new Map<string, Session>();

export function currentHost(): string {
  return host;
}
export function setHost(h: string): void {
  host = h;
}
export function session(): Session | undefined {
  return sessions.get(host);
}
export function setSession(s: Session | undefined): void {
  if (s) sessions.set(host, s);
  else sessions.delete(host);
}

/** Called when the server refuses this host's token (expired, revoked): the page signs out. */
let onRefused: () => void = () => {};
export function whenRefused(f: () => void): void {
  onRefused = f;
}

function config(token?: string): Configuration {
  // `Host` cannot be set from a page: X-Prosody-Host names the VirtualHost instead.
  const headers: Record<string, string> = {};
  if (host && host !== pageHost) headers["X-Prosody-Host"] = host;
  return new Configuration({
    basePath,
    headers,
    accessToken: token === undefined ? undefined : async () => token,
    middleware:
      token === undefined
        ? []
        : [
            {
              post: async ({ response }) => {
                if (response.status === 401 && session()?.token === token) {
                  setSession(undefined);
                  onRefused();
                }
                return response;
              },
            },
          ],
  });
}

function authed(): Configuration {
  return config(session()?.token ?? "");
}

export const api = {
  users: () => new UserApi(authed()),
  invites: () => new InviteApi(authed()),
  groups: () => new GroupApi(authed()),
  server: () => new ServerApi(authed()),
  audit: () => new AuditApi(authed()),
  console: () => new ConsoleApi(authed()),
  anonymous: () => new ConsoleApi(config()),
};

/** What went wrong, as a sentence: the API's `error.text` where there is one. */
export async function explain(e: unknown): Promise<string> {
  if (e instanceof ResponseError) {
    const status = e.response.status;
    try {
      const body = await e.response.clone().json();
      const text = body?.error?.text;
      if (typeof text === "string") return `${status}: ${text}`;
    } catch {
      // not JSON
    }
    return `${status} ${e.response.statusText}`;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The status of a failed call, if it was an HTTP answer. */
export function statusOf(e: unknown): number | undefined {
  return e instanceof ResponseError ? e.response.status : undefined;
}

/** The `after` cursor of a `Link: <...>; rel="next"` header. */
export function nextCursor(link: string | null): string | undefined {
  if (!link) return undefined;
  const m = /<([^>]*)>\s*;\s*rel="next"/.exec(link);
  if (!m) return undefined;
  return new URL(m[1], location.href).searchParams.get("after") ?? undefined;
}
