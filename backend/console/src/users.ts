// Users: a searchable, paged list (pages of 50 from the API's cursors; a search loads
// the rest in pages of 1 000 and filters them here), and one account's details: role,
// enabled, groups, last active, live sessions; change role, disable/enable, delete,
// a password reset invite, end sessions.

import type { User } from "client";
import { api, explain, nextCursor } from "./api";
import { field, fill, h, list, when } from "./dom";
import { showInvite } from "./invites";
import { Notice } from "./notice";

const PAGE = 50;
const ROLES = ["prosody:guest", "prosody:registered", "prosody:member", "prosody:admin", "prosody:operator"];

function roleOf(u: User): string {
  return u.role ?? (u.roles ?? []).join(", ");
}

export function usersView(root: HTMLElement, notice: Notice): void {
  const search = h("input", { type: "search", name: "search", placeholder: "username or display name" });
  const table = h("div", { class: "scroll" });
  const pager = h("div", { class: "pager" });
  const detail = h("div", { class: "detail" });
  // Cursors of the pages walked so far: [undefined, after1, after2, ...].
  const cursors: (string | undefined)[] = [undefined];
  let at = 0;
  // Every account, once a search asked for them (loaded in pages of 1 000).
  let everyone: User[] | null = null;
  let loading: Promise<User[]> | null = null;

  function rows(users: User[]): HTMLElement {
    if (users.length === 0) return h("p", {}, "No accounts.");
    return h(
      "table",
      { class: "users" },
      h("thead", {}, h("tr", {}, ["Username", "Display name", "Role", "Enabled", "Last active"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        users.map((u) =>
          h(
            "tr",
            { "data-user": u.username ?? "" },
            h("td", {}, h("button", { type: "button", class: "link", onclick: () => void open(u.username ?? "") }, u.username ?? "")),
            h("td", {}, u.displayName ?? ""),
            h("td", {}, roleOf(u)),
            h("td", {}, u.enabled === false ? "disabled" : "yes"),
            h("td", {}, u.lastActive ? when(u.lastActive) : "—"),
          ),
        ),
      ),
    );
  }

  async function page(n: number): Promise<void> {
    try {
      const r = await api.users().listUsersRaw({ limit: PAGE, after: cursors[n] });
      const users = await r.value();
      const next = nextCursor(r.raw.headers.get("Link"));
      at = n;
      cursors[n + 1] = next;
      fill(table, rows(users));
      fill(
        pager,
        h("button", { type: "button", disabled: n === 0, onclick: () => void page(n - 1) }, "Previous"),
        h("span", {}, ` page ${n + 1} `),
        h("button", { type: "button", disabled: !next, onclick: () => void page(n + 1) }, "Next"),
      );
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function all(): Promise<User[]> {
    const out: User[] = [];
    let after: string | undefined;
    for (;;) {
      const r = await api.users().listUsersRaw({ limit: 1000, after });
      out.push(...(await r.value()));
      after = nextCursor(r.raw.headers.get("Link"));
      if (!after) return out;
    }
  }

  async function find(): Promise<void> {
    const q = search.value.trim().toLowerCase();
    if (q === "") {
      await page(at);
      return;
    }
    try {
      if (!everyone) {
        fill(table, h("p", {}, "Searching…"));
        loading ??= all();
        everyone = await loading;
      }
      const hits = everyone.filter(
        (u) => (u.username ?? "").toLowerCase().includes(q) || (u.displayName ?? "").toLowerCase().includes(q),
      );
      fill(table, rows(hits.slice(0, PAGE)));
      fill(pager, h("span", {}, `${hits.length} found${hits.length > PAGE ? `, the first ${PAGE} shown` : ""}`));
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function open(name: string): Promise<void> {
    try {
      const u = await api.users().getUserByName({ username: name });
      fill(detail, await details(u));
      detail.scrollIntoView({ block: "nearest" });
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function changed(name: string, text: string): Promise<void> {
    notice.ok(text);
    everyone = null;
    loading = null;
    await page(at);
    await open(name);
  }

  async function details(u: User): Promise<HTMLElement> {
    const name = u.username ?? "";
    const act = (label: string, run: () => Promise<string>, cls?: string) =>
      h(
        "button",
        {
          type: "button",
          class: cls,
          onclick: async () => {
            try {
              const done = await run();
              if (done) await changed(name, done);
            } catch (e) {
              notice.error(await explain(e));
            }
          },
        },
        label,
      );
    const thirteen = u.role !== undefined && u.role !== null;
    const roleInput = thirteen
      ? h("select", { name: "role" }, ROLES.concat(ROLES.includes(u.role ?? "") ? [] : [u.role ?? ""]).map((r) =>
          h("option", { value: r, selected: r === u.role }, r),
        ))
      : h("input", { name: "roles", value: (u.roles ?? []).join(", ") });
    const sessions = h("div", { class: "sessions" }, "Live sessions: asking Prosody…");
    const invite = h("div", {});
    const card = h(
      "section",
      { class: "panel", "data-detail": name },
      h("h3", {}, u.jid ?? name),
      h(
        "dl",
        {},
        h("dt", {}, "Display name"), h("dd", {}, u.displayName ?? "—"),
        h("dt", {}, "Role"), h("dd", {}, roleOf(u)),
        h("dt", {}, "Enabled"), h("dd", {}, u.enabled === false ? "no (disabled)" : "yes"),
        h("dt", {}, "Groups"), h("dd", {}, (u.groups ?? []).join(", ") || "—"),
        h("dt", {}, "Last active"), h("dd", {}, u.lastActive ? when(u.lastActive) : "—"),
      ),
      h(
        "div",
        { class: "actions" },
        field(thirteen ? "Role" : "Roles", roleInput),
        act("Save role", async () => {
          const user = thirteen ? { role: roleInput.value } : { roles: list(roleInput.value) };
          await api.users().updateUser({ username: name, body: user });
          return "Role saved.";
        }),
        u.enabled === false
          ? act("Enable", async () => {
              await api.users().patchUser({ username: name, body: { enabled: true } });
              return `${name} enabled.`;
            })
          : act("Disable", async () => {
              await api.users().patchUser({ username: name, body: { enabled: false } });
              return `${name} disabled.`;
            }, "danger"),
        act("Password reset invite", async () => {
          const i = await api.invites().createInviteForAccountReset({ newResetInvite: { username: name } });
          fill(invite, showInvite(i));
          return "";
        }),
        act("Delete", async () => {
          if (!confirm(`Delete ${name} and all their data? This cannot be undone.`)) return "";
          await api.users().deleteUser({ username: name });
          fill(detail);
          everyone = null;
          loading = null;
          await page(at);
          notice.ok(`${name} deleted.`);
          return "";
        }, "danger"),
      ),
      sessions,
      invite,
    );
    void live(name, sessions);
    return card;
  }

  async function live(name: string, box: HTMLElement): Promise<void> {
    try {
      const d = await api.users().getUserDebugInfo({ username: name });
      const end = (resource?: string) => async () => {
        try {
          const r = await api.users().endUserSessions({ username: name, resource });
          notice.ok(`${r.ended} session(s) ended.`);
          await live(name, box);
        } catch (e) {
          notice.error(await explain(e));
        }
      };
      fill(
        box,
        h("h4", {}, d.sessions.length === 0 ? "Not online now" : `Online now: ${d.sessions.length} session(s)`),
        h(
          "ul",
          {},
          d.sessions.map((s) => {
            const resource = (s.fullJid ?? "").split("/").slice(1).join("/");
            return h(
              "li",
              {},
              h("code", {}, s.fullJid ?? ""),
              s.ip ? ` from ${s.ip}` : "",
              s.since ? `, since ${when(s.since)} ` : " ",
              h("button", { type: "button", onclick: end(resource) }, "End"),
            );
          }),
        ),
        d.sessions.length > 0 ? h("button", { type: "button", class: "danger", onclick: end() }, "End all sessions") : null,
      );
    } catch (e) {
      fill(box, h("p", {}, "Live sessions unavailable: ", await explain(e)));
    }
  }

  let timer: number | undefined;
  search.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void find(), 200);
  });
  fill(root, h("h2", {}, "Users"), field("Search", search), table, pager, detail);
  void page(0);
}
