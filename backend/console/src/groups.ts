// Groups: create, rename, delete; members added and removed; group chats.

import type { Group } from "client";
import { api, explain } from "./api";
import { field, fill, h } from "./dom";
import { Notice } from "./notice";

export function groupsView(root: HTMLElement, notice: Notice): void {
  const name = h("input", { name: "group_name", required: true });
  const chat = h("input", { type: "checkbox", name: "create_muc" });
  const table = h("div", { class: "scroll" });
  const detail = h("div", { class: "detail" });

  const run = (work: () => Promise<string>, then?: () => Promise<void>) => async (ev?: Event) => {
    ev?.preventDefault();
    try {
      const done = await work();
      if (done) notice.ok(done);
      await refresh();
      if (then) await then();
    } catch (e) {
      notice.error(await explain(e));
    }
  };

  async function refresh(): Promise<void> {
    try {
      const groups = await api.groups().listGroups({});
      fill(
        table,
        groups.length === 0
          ? h("p", {}, "No groups.")
          : h(
              "table",
              {},
              h("thead", {}, h("tr", {}, ["Name", "Id", "Members", "Chats"].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                groups.map((g) =>
                  h(
                    "tr",
                    { "data-group": g.id },
                    h("td", {}, h("button", { type: "button", class: "link", onclick: () => void open(g.id) }, g.name)),
                    h("td", {}, h("code", {}, g.id)),
                    h("td", {}, String(g.members.length)),
                    h("td", {}, String((g.chats ?? []).filter((c) => !c.deleted).length)),
                  ),
                ),
              ),
            ),
      );
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function open(id: string): Promise<void> {
    try {
      fill(detail, card(await api.groups().getGroupById({ id })));
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  function card(g: Group): HTMLElement {
    const again = () => open(g.id);
    const rename = h("input", { name: "rename", value: g.name });
    const member = h("input", { name: "member", placeholder: "username", autocomplete: "off" });
    const chatName = h("input", { name: "chat_name" });
    return h(
      "section",
      { class: "panel", "data-detail": g.id },
      h("h3", {}, g.name),
      h(
        "form",
        { class: "inline", onsubmit: run(async () => {
          await api.groups().updateGroup({ id: g.id, body: { name: rename.value } });
          return "Group renamed.";
        }, again) },
        field("Name", rename),
        h("button", { type: "submit" }, "Rename"),
      ),
      h("h4", {}, "Members"),
      h(
        "ul",
        { class: "members" },
        g.members.map((m) =>
          h(
            "li",
            {},
            m,
            " ",
            h("button", { type: "button", onclick: run(async () => {
              await api.groups().deleteGroupMember({ id: g.id, username: m });
              return `${m} removed.`;
            }, again) }, "Remove"),
          ),
        ),
      ),
      h(
        "form",
        { class: "inline", onsubmit: run(async () => {
          await api.groups().addGroupMember({ id: g.id, username: member.value.trim() });
          return `${member.value.trim()} added.`;
        }, again) },
        field("Add member", member),
        h("button", { type: "submit" }, "Add"),
      ),
      h("h4", {}, "Group chats"),
      h(
        "ul",
        {},
        (g.chats ?? []).filter((c) => !c.deleted).map((c) =>
          h(
            "li",
            {},
            c.name,
            " ",
            h("code", {}, c.jid),
            " ",
            h("button", { type: "button", onclick: run(async () => {
              await api.groups().deleteGroupChat({ id: g.id, chatId: c.id });
              return "Chat removed.";
            }, again) }, "Remove"),
          ),
        ),
      ),
      h(
        "form",
        { class: "inline", onsubmit: run(async () => {
          await api.groups().createGroupChat({ id: g.id, body: { name: chatName.value } });
          return "Chat created.";
        }, again) },
        field("New chat", chatName),
        h("button", { type: "submit" }, "Create chat"),
      ),
      h(
        "p",
        {},
        h("button", { type: "button", class: "danger", onclick: run(async () => {
          if (!confirm(`Delete the group ${g.name}?`)) return "";
          await api.groups().deleteGroup({ id: g.id });
          fill(detail);
          return "Group deleted.";
        }) }, "Delete group"),
      ),
    );
  }

  fill(
    root,
    h("h2", {}, "Groups"),
    h(
      "form",
      { class: "panel inline", onsubmit: run(async () => {
        const g = await api.groups().createGroup({ newGroup: { name: name.value, createMuc: chat.checked } });
        name.value = "";
        await open(g.id);
        return "Group created.";
      }) },
      field("New group", name),
      h("label", { class: "check" }, chat, " with a group chat"),
      h("button", { type: "submit" }, "Create group"),
    ),
    table,
    detail,
  );
  void refresh();
}
