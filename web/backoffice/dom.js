// DOM helpers shared by every view: $ (one element), h (build an element; text is always set as
// text, never as markup), the toast, the connection badge, and the date formats.

import { t } from "./i18n.js";

export const $ = (sel, root = document) => root.querySelector(sel);

export function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k === "text") n.textContent = v;
    else if (k === "class") n.className = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "value") n.value = v;
    else if (v === true) n.setAttribute(k, "");
    else n.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

/** A wide table in a box that scrolls sideways on a narrow screen (the page itself never does);
 * the box is focusable and named, so a keyboard user can scroll it too (WCAG 2.1.1). */
export function scrollable(label, table) {
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" }, table);
}

/** Where the focus goes when the control that had it is gone (a row redrawn, a button removed):
 * the control with the same ``data-key`` in ``root`` if there is one again, else ``fallback``. */
export function refocus(root, key, fallback) {
  const again = key ? root.querySelector(`[data-key="${CSS.escape(key)}"]`) : null;
  (again || fallback).focus();
}

export function toast(text, kind = "info") {
  const t = $("#toast");
  t.textContent = text;
  t.className = "show " + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ""; }, 4000);
}

export const fmtTime = (ms) => new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
export const fmtClock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export function setConnection(up) {
  const el = $("#conn");
  if (!el) return;
  el.textContent = up ? t("conn.live") : t("conn.reconnecting");
  el.className = up ? "conn up" : "conn down";
}
