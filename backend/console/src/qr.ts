// An invite as a QR code for a phone's camera: drawn on a canvas (no image URL, no
// inline markup), with the same text as a link beside it.

import qrcode from "qrcode-generator";
import { h } from "./dom";

export function qr(text: string, label: string): HTMLCanvasElement {
  const code = qrcode(0, "M");
  code.addData(text, "Byte");
  code.make();
  const n = code.getModuleCount();
  const cell = Math.max(3, Math.floor(240 / (n + 8)));
  const size = (n + 8) * cell; // a quiet zone of 4 modules on each side
  const canvas = h("canvas", { width: size, height: size, class: "qr", role: "img", "aria-label": label });
  const ctx = canvas.getContext("2d");
  if (!ctx) return canvas;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = "#000";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (code.isDark(r, c)) ctx.fillRect((c + 4) * cell, (r + 4) * cell, cell, cell);
    }
  }
  return canvas;
}
