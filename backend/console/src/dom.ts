// The console's one way to make DOM: elements with attributes and children, where
// every string becomes a text node (never markup), so a hostile display name or group
// name shows verbatim and runs nothing. No innerHTML anywhere in the console.

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A link only for http(s) addresses (an invite's landing page); anything else is text. */
export function safeLink(url: string | null | undefined, text?: string): Child {
  if (!url) return null;
  try {
    const u = new URL(url, location.href);
    if (u.protocol === "https:" || u.protocol === "http:") {
      return h("a", { href: u.href, rel: "noopener noreferrer", target: "_blank" }, text ?? url);
    }
  } catch {
    // not a URL: shown as text below
  }
  return h("code", {}, text ?? url);
}

export function when(t: number | null | undefined): string {
  if (t === null || t === undefined) return "never";
  const d = new Date(t * 1000);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A labelled input, keyboard- and screen-reader-friendly. */
export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

/** Splits a comma-separated list (blank items dropped). */
export function list(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
