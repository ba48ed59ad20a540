// Invites: create (account, group, password reset), shown as a link and a QR code;
// the pending ones, revocable.

import type { Invite } from "client";
import { api, explain } from "./api";
import { field, fill, h, list, safeLink, when } from "./dom";
import { qr } from "./qr";
import { Notice } from "./notice";

/** What a phone opens: the landing page where there is one, else the xmpp: URI. */
export function inviteTarget(i: Invite): string {
  return i.landingPage || i.uri;
}

/** An invite shown for sharing: its link, its URI and its QR code. */
export function showInvite(i: Invite): HTMLElement {
  const target = inviteTarget(i);
  return h(
    "section",
    { class: "invite-card", "data-invite": i.id },
    h("h3", {}, i.reset ? "Password reset invite" : "Invite", " for ", i.jid),
    h("p", {}, "Link: ", safeLink(target)),
    i.landingPage ? h("p", {}, "URI: ", h("code", {}, i.uri)) : null,
    h("p", {}, "Expires ", when(i.expires)),
    qr(target, `QR code of ${target}`),
  );
}

export function invitesView(root: HTMLElement, notice: Notice): void {
  const kind = h(
    "select",
    { name: "kind" },
    h("option", { value: "account" }, "New account"),
    h("option", { value: "group" }, "Group (creates a group)"),
    h("option", { value: "reset" }, "Password reset"),
  );
  const username = h("input", { name: "username", autocomplete: "off" });
  const ttl = h("input", { name: "ttl", inputmode: "numeric", placeholder: "server default" });
  const roles = h("input", { name: "roles", placeholder: "e.g. prosody:member" });
  const groups = h("input", { name: "groups", placeholder: "group ids, comma-separated" });
  const groupName = h("input", { name: "group_name" });
  const note = h("input", { name: "note" });
  const created = h("div", { class: "created", "aria-live": "polite" });
  const table = h("div", { class: "scroll" });

  async function refresh(): Promise<void> {
    try {
      const all = await api.invites().listInvites({});
      fill(
        table,
        all.length === 0
          ? h("p", {}, "No pending invites.")
          : h(
              "table",
              {},
              h("thead", {}, h("tr", {}, ["Type", "For", "Expires", "Note", "Link", ""].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                all.map((i) =>
                  h(
                    "tr",
                    { "data-invite": i.id },
                    h("td", {}, i.reset ? "reset" : i.type),
                    h("td", {}, i.jid),
                    h("td", {}, when(i.expires)),
                    h("td", {}, i.note ?? ""),
                    h("td", {}, h("button", { type: "button", onclick: () => fill(created, showInvite(i)) }, "Show")),
                    h(
                      "td",
                      {},
                      h(
                        "button",
                        {
                          type: "button",
                          class: "danger",
                          onclick: async () => {
                            if (!confirm(`Revoke the invite for ${i.jid}?`)) return;
                            try {
                              await api.invites().deleteInvite({ id: i.id });
                              notice.ok("Invite revoked.");
                              await refresh();
                            } catch (e) {
                              notice.error(await explain(e));
                            }
                          },
                        },
                        "Revoke",
                      ),
                    ),
                  ),
                ),
              ),
            ),
      );
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function create(ev: Event): Promise<void> {
    ev.preventDefault();
    const t = ttl.value.trim();
    const common = { ttl: t === "" ? undefined : Number(t), note: note.value || undefined };
    try {
      let i: Invite;
      if (kind.value === "reset") {
        i = await api.invites().createInviteForAccountReset({
          newResetInvite: { username: username.value, ttl: common.ttl },
        });
      } else if (kind.value === "group") {
        i = await api.invites().createInviteForGroup({
          newGroupInvite: {
            ...common,
            roles: list(roles.value),
            groups: list(groups.value),
            groupOptions: { name: groupName.value },
          },
        });
      } else {
        i = await api.invites().createInviteForAccount({
          newAccountInvite: {
            ...common,
            username: username.value || undefined,
            roles: list(roles.value),
            groups: list(groups.value),
          },
        });
      }
      fill(created, showInvite(i));
      notice.ok("Invite created.");
      await refresh();
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  fill(
    root,
    h("h2", {}, "Invites"),
    h(
      "form",
      { class: "panel", onsubmit: create },
      field("Kind", kind),
      field("Username (account: optional; reset: required)", username),
      field("Lifetime, seconds", ttl),
      field("Roles", roles),
      field("Groups", groups),
      field("Group name (group invites)", groupName),
      field("Note", note),
      h("button", { type: "submit" }, "Create invite"),
    ),
    created,
    h("h3", {}, "Pending"),
    table,
  );
  void refresh();
}
