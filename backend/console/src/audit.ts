// The audit log, newest first, with the API's filters (actor, operation, time) and its
// pages (`next`).

import type { AuditEntry } from "client";
import { api, explain } from "./api";
import { field, fill, h, when } from "./dom";
import { Notice } from "./notice";

function seconds(local: string): number | undefined {
  if (!local) return undefined;
  const t = Date.parse(local);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

export function auditView(root: HTMLElement, notice: Notice): void {
  const actor = h("input", { name: "actor", placeholder: "e.g. admin@example.org" });
  const operation = h("input", { name: "operation", placeholder: "e.g. createInviteForAccount" });
  const since = h("input", { type: "datetime-local", name: "since" });
  const until = h("input", { type: "datetime-local", name: "until" });
  const table = h("div", { class: "scroll" });
  const more = h("div", { class: "pager" });
  let shown: AuditEntry[] = [];

  async function load(before?: string): Promise<void> {
    try {
      const p = await api.audit().listAuditEntries({
        limit: 50,
        before,
        actor: actor.value.trim() || undefined,
        operation: operation.value.trim() || undefined,
        since: seconds(since.value),
        until: seconds(until.value),
      });
      shown = before ? shown.concat(p.entries) : p.entries;
      fill(
        table,
        shown.length === 0
          ? h("p", {}, "No entries.")
          : h(
              "table",
              { class: "audit" },
              h("thead", {}, h("tr", {}, ["Time", "Actor", "Operation", "Target", "Outcome", "Client"].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                shown.map((e) =>
                  h(
                    "tr",
                    { "data-entry": e.id },
                    h("td", {}, when(e.time)),
                    h("td", {}, e.actor),
                    h("td", {}, e.operation),
                    h("td", {}, h("code", {}, `${e.method} ${e.target}`)),
                    h("td", {}, e.status ? `${e.outcome} (${e.status})` : e.outcome),
                    h("td", {}, e.client),
                  ),
                ),
              ),
            ),
      );
      fill(more, p.next ? h("button", { type: "button", onclick: () => void load(p.next) }, "Older entries") : null);
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  fill(
    root,
    h("h2", {}, "Audit log"),
    h(
      "form",
      { class: "panel inline", onsubmit: (ev: Event) => { ev.preventDefault(); void load(); } },
      field("Actor", actor),
      field("Operation", operation),
      field("Since", since),
      field("Until", until),
      h("button", { type: "submit" }, "Filter"),
    ),
    table,
    more,
  );
  void load();
}
