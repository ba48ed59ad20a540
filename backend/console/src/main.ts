// The console's shell: the host switcher, sign-in (a password, or a pasted token),
// sign-out, and the five pages. The page to show is the URL's fragment (`#users`);
// the token never goes into the URL or any storage.

import { api, currentHost, explain, hosts, session, setHost, setSession, statusOf, whenRefused } from "./api";
import { auditView } from "./audit";
import { field, fill, h } from "./dom";
import { groupsView } from "./groups";
import { invitesView } from "./invites";
import { Notice } from "./notice";
import { serverView } from "./server";
import { usersView } from "./users";

const PAGES: [string, string][] = [
  ["users", "Users"],
  ["invites", "Invites"],
  ["groups", "Groups"],
  ["audit", "Audit"],
  ["server", "Server"],
];

const notice = new Notice();
const header = h("header", {});
const nav = h("nav", { "aria-label": "Pages" });
const main = h("main", { id: "main", tabindex: -1 });
let generation = 0;

function hostSwitcher(): HTMLElement | null {
  if (hosts.length < 2) return h("span", { class: "host" }, currentHost());
  const select = h(
    "select",
    { name: "host", "aria-label": "VirtualHost" },
    hosts.map((x) => h("option", { value: x, selected: x === currentHost() }, x)),
  );
  select.addEventListener("change", () => {
    setHost(select.value);
    notice.clear();
    render();
  });
  return h("label", { class: "host" }, "Host ", select);
}

function signIn(): void {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const pasted = h("input", { type: "password", name: "token", autocomplete: "off" });
  fill(
    main,
    h("h2", {}, "Sign in to ", currentHost()),
    h(
      "form",
      {
        class: "panel",
        id: "signin",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          try {
            const s = await api.anonymous().createConsoleSession({
              consoleSignIn: { username: username.value.trim(), password: password.value },
            });
            password.value = "";
            setSession({ token: s.token, jid: s.jid, minted: true, expires: s.expires });
            notice.ok(`Signed in as ${s.jid}.`);
            render();
          } catch (e) {
            password.value = "";
            const st = statusOf(e);
            notice.error(st === 401 ? "Wrong username or password." : await explain(e));
          }
        },
      },
      field("Username", username),
      field("Password", password),
      h("button", { type: "submit" }, "Sign in"),
    ),
    h(
      "form",
      {
        class: "panel",
        id: "paste",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          setSession({ token: pasted.value.trim(), jid: "(pasted token)", minted: false });
          pasted.value = "";
          try {
            await api.server().getServerInfo();
            render();
          } catch (e) {
            setSession(undefined);
            notice.error(await explain(e));
          }
        },
      },
      field("Or paste an admin token", pasted),
      h("button", { type: "submit" }, "Use token"),
    ),
  );
  username.focus();
}

async function signOut(): Promise<void> {
  const s = session();
  if (s?.minted) {
    try {
      await api.console().endConsoleSession();
    } catch (e) {
      if (statusOf(e) !== 401) notice.error(await explain(e));
    }
  }
  setSession(undefined);
  notice.ok("Signed out.");
  render();
}

function render(): void {
  const gen = ++generation;
  const s = session();
  fill(
    header,
    h("h1", {}, "Prosody admin"),
    hostSwitcher(),
    s ? h("span", { class: "who" }, s.jid) : null,
    s ? h("button", { type: "button", id: "signout", onclick: () => void signOut() }, "Sign out") : null,
  );
  if (!s) {
    fill(nav);
    signIn();
    return;
  }
  const want = location.hash.slice(1);
  const page = PAGES.some(([k]) => k === want) ? want : "users";
  fill(
    nav,
    h(
      "ul",
      {},
      PAGES.map(([k, label]) =>
        h("li", {}, h("a", { href: `#${k}`, "aria-current": k === page ? "page" : null }, label)),
      ),
    ),
  );
  notice.clear();
  const alive = () => gen === generation;
  const say = notice.scoped(alive);
  if (page === "users") usersView(main, say);
  else if (page === "invites") invitesView(main, say);
  else if (page === "groups") groupsView(main, say);
  else if (page === "audit") auditView(main, say);
  else serverView(main, say, alive);
}

window.addEventListener("hashchange", render);
// A token the server no longer takes (its hour is up, or it was revoked elsewhere).
whenRefused(() => {
  render();
  notice.error("The session ended (the token expired or was revoked): sign in again.");
});
document.body.append(
  h("a", { href: "#main", class: "skip" }, "Skip to content"),
  header,
  nav,
  notice.el,
  main,
);
render();
