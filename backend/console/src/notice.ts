// One status line for the whole page, read out by screen readers.

import { fill, h } from "./dom";

export class Notice {
  readonly el = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  ok(text: string): void {
    this.el.className = "notice ok";
    fill(this.el, text);
  }
  error(text: string): void {
    this.el.className = "notice error";
    fill(this.el, text);
  }
  clear(): void {
    this.el.className = "notice";
    fill(this.el);
  }
}
