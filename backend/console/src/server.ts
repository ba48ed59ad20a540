// The server: its info and live path, Prosody's figures, this service's request rate
// and latency as small charts (sampled from GET /service/metrics while the page is
// open), and an announcement to online or all users.

import { api, explain } from "./api";
import { field, fill, h } from "./dom";
import { Notice } from "./notice";

/** Sums of the series of a metric in OpenMetrics text (every label set). */
export function total(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

function chart(title: string, values: number[], unit: string): HTMLElement {
  const w = 300;
  const hgt = 80;
  const canvas = h("canvas", { width: w, height: hgt, class: "chart", role: "img", "aria-label": title });
  const ctx = canvas.getContext("2d");
  const max = Math.max(1e-9, ...values);
  if (ctx && values.length > 1) {
    ctx.strokeStyle = "#2a6";
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (w - 4) + 2;
      const y = hgt - 2 - (v / max) * (hgt - 4);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  const last = values.length ? values[values.length - 1] : 0;
  return h("figure", {}, canvas, h("figcaption", {}, `${title}: ${last.toFixed(unit === "ms" ? 1 : 2)} ${unit}`));
}

export function serverView(root: HTMLElement, notice: Notice, alive: () => boolean): void {
  const info = h("div", { class: "panel" }, "Loading…");
  const charts = h("div", { class: "charts" });
  const body = h("textarea", { name: "announcement", rows: 3, required: true });
  const recipients = h(
    "select",
    { name: "recipients" },
    h("option", { value: "online" }, "Online users"),
    h("option", { value: "all" }, "All users"),
  );
  const rate: number[] = [];
  const latency: number[] = [];
  let last: { t: number; n: number; sum: number; count: number } | null = null;

  async function sample(): Promise<void> {
    if (!alive()) return;
    try {
      const text = await api.server().getServiceMetrics();
      const now = Date.now() / 1000;
      const n = total(text, "prosody_admin_requests_total");
      const sum = total(text, "prosody_admin_request_duration_seconds_sum");
      const count = total(text, "prosody_admin_request_duration_seconds_count");
      if (last) {
        const dt = Math.max(0.001, now - last.t);
        rate.push((n - last.n) / dt);
        const dc = count - last.count;
        latency.push(dc > 0 ? ((sum - last.sum) / dc) * 1000 : 0);
        if (rate.length > 60) rate.shift();
        if (latency.length > 60) latency.shift();
      }
      last = { t: now, n, sum, count };
      fill(charts, chart("Requests per second", rate, "/s"), chart("Mean latency", latency, "ms"));
    } catch (e) {
      fill(charts, h("p", {}, "Service metrics unavailable: ", await explain(e)));
    }
    window.setTimeout(() => void sample(), 5000);
  }

  async function load(): Promise<void> {
    try {
      const i = await api.server().getServerInfo();
      const lp = i.livePath;
      const items: (string | Node)[][] = [
        ["Site", i.siteName],
        ["Version", i.version],
        ["Live path", lp ? (lp.configured ? (lp.up ? "up" : `down${lp.error ? `: ${lp.error}` : ""}`) : "not configured") : "—"],
      ];
      try {
        const m = await api.server().getServerMetrics();
        if (m.users) {
          items.push(["Active users (1 d / 7 d / 30 d)", `${m.users.active1d ?? "—"} / ${m.users.active7d ?? "—"} / ${m.users.active30d ?? "—"}`]);
        }
        if (m.c2s !== undefined) items.push(["Client connections", String(m.c2s)]);
        if (m.memory !== undefined) items.push(["Prosody's memory", `${(m.memory / 1048576).toFixed(1)} MiB`]);
      } catch {
        // Prosody's figures are optional (prosody_metrics_url).
      }
      fill(info, h("dl", {}, items.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  async function announce(ev: Event): Promise<void> {
    ev.preventDefault();
    try {
      const r = await api.server().postServerAnnouncement({
        body: { body: body.value, recipients: recipients.value },
      });
      notice.ok(`Announcement sent: ${r.sentLive} live, ${r.storedOffline} stored for offline users.`);
      body.value = "";
    } catch (e) {
      notice.error(await explain(e));
    }
  }

  fill(
    root,
    h("h2", {}, "Server"),
    info,
    charts,
    h("h3", {}, "Announcement"),
    h("form", { class: "panel", onsubmit: announce }, field("Message", body), field("To", recipients), h("button", { type: "submit" }, "Send")),
  );
  void load();
  void sample();
}
