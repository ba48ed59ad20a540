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
  /** The same line for one page's life: what it says after the page is gone (a late
   * answer) is dropped. */
  scoped(alive: () => boolean): Notice {
    const parent = this;
    const scoped = Object.create(parent) as Notice;
    scoped.ok = (t: string) => void (alive() && parent.ok(t));
    scoped.error = (t: string) => void (alive() && parent.error(t));
    scoped.clear = () => void (alive() && parent.clear());
    return scoped;
  }
}
