// Canned replies: the admin page that manages them (/admin/canned), and the reply box's picker -
// "/" at the start of the reply filters them by shortcut or title, as a listbox the reply box
// controls (the ARIA 1.2 combobox pattern's keys: arrows move, Enter or Tab picks, Escape
// closes), filling {visitor.name} and {operator.name}.

import { call } from "../api.js";
import { h, refocus, scrollable, toast } from "../dom.js";
import { t } from "../i18n.js";

let cache = null; // the tenant's replies, loaded once per page (an admin's change reloads them)

const listOf = (data) => (data && (data.canned || data.replies || data.items)) || [];

export async function loadCanned(force = false) {
  if (cache && !force) return cache;
  try {
    cache = listOf(await call("GET", "/canned"));
  } catch {
    cache = [];
  }
  return cache;
}

/** The reply with its placeholders filled. */
export function fill(text, { visitorName, operatorName }) {
  return String(text).replace(/\{visitor\.name\}/g, visitorName || "").replace(/\{operator\.name\}/g, operatorName || "");
}

/** Attach the picker to ``input`` (the reply box); ``names()`` gives the visitor's and my name. */
export function cannedPicker(input, names) {
  const list = h("ul", { id: "canned-list", class: "canned-list", role: "listbox", "aria-label": t("canned.list"), hidden: true });
  const live = h("span", { class: "sr-only", role: "status" });
  let shown = [];
  let active = -1;
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", "canned-list");

  function close() {
    list.hidden = true;
    shown = [];
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }
  function paint() {
    list.replaceChildren(...shown.map((c, i) => h("li", { role: "option", id: `canned-${i}`, "aria-selected": String(i === active),
      class: i === active ? "active" : "", onmousedown: (e) => { e.preventDefault(); choose(i); } },
    h("span", { class: "shortcut", text: `/${c.shortcut || ""}` }), " ", h("span", { class: "title", text: c.title || "" }))));
    if (active >= 0) input.setAttribute("aria-activedescendant", `canned-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }
  function choose(i) {
    const c = shown[i];
    if (!c) return;
    input.value = fill(c.text, names());
    close();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
  async function update() {
    const m = /^\/(\S*)$/.exec(input.value);
    if (!m) { if (!list.hidden) close(); live.textContent = ""; return; }
    const q = m[1].toLowerCase();
    const all = await loadCanned();
    shown = all.filter((c) => String(c.shortcut || "").toLowerCase().startsWith(q) ||
      String(c.title || "").toLowerCase().includes(q)).slice(0, 8);
    active = shown.length ? 0 : -1;
    list.hidden = !shown.length;
    live.textContent = shown.length ? t("canned.count", { n: shown.length }) : t("canned.none");
    paint();
  }
  input.addEventListener("input", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (e) => {
    if (list.hidden || !shown.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : -1) + shown.length) % shown.length;
      paint();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      e.stopImmediatePropagation(); // not the reply box's Enter-sends
      choose(active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  }, { capture: true });
  return h("div", { class: "canned-picker" }, list, live);
}

/** Admin: the tenant's canned replies - add, edit, delete. */
export function renderCanned(main) {
  const heading = h("h1", { tabindex: "-1", text: t("nav.canned") });
  const status = h("p", { class: "muted", role: "status", text: t("loading") });
  const table = h("table", { class: "grid", "aria-label": t("nav.canned") });
  const title = h("input", { id: "cr-title", required: true, maxlength: "100" });
  const shortcut = h("input", { id: "cr-shortcut", required: true, maxlength: "32", pattern: "[A-Za-z0-9_\\-]+" });
  const text = h("textarea", { id: "cr-text", required: true, rows: "3", maxlength: "4000" });
  const result = h("p", { class: "result", role: "status" });
  let editing = null;
  const submit = h("button", { type: "submit", class: "primary", text: t("cr.add") });
  const form = h("form", { class: "card", "aria-labelledby": "cr-form-title", onsubmit: async (e) => {
    e.preventDefault();
    const body = { title: title.value.trim(), shortcut: shortcut.value.trim().replace(/^\//, ""), text: text.value.trim() };
    try {
      if (editing) await call("PATCH", `/admin/canned/${encodeURIComponent(editing.id)}`, body);
      else await call("POST", "/admin/canned", body);
      result.textContent = editing ? t("cr.saved") : t("cr.added");
      editing = null;
      submit.textContent = t("cr.add");
      form.reset();
      await refresh();
    } catch (err) {
      result.textContent = t("cr.save_failed", { why: err.message });
    }
  } },
  h("h2", { id: "cr-form-title", text: t("cr.form_title") }),
  h("p", { class: "muted", text: t("cr.hint", { "visitor.name": "{visitor.name}", "operator.name": "{operator.name}" }) }),
  h("div", { class: "fields" }, h("label", {}, t("set.title"), title), h("label", {}, t("cr.shortcut"), shortcut)),
  h("label", { class: "wide" }, t("cr.text"), text), submit, result);

  async function refresh() {
    try {
      const items = listOf(await call("GET", "/canned"));
      await loadCanned(true);
      status.textContent = t("cr.count", { n: items.length });
      table.replaceChildren(
        h("thead", {}, h("tr", {}, ["cr.shortcut", "set.title", "cr.text", "ops.col.actions"].map((c) => h("th", { scope: "col", text: t(c) })))),
        h("tbody", {}, items.map((c) => h("tr", { "data-canned": c.id },
          h("td", { text: `/${c.shortcut}` }), h("td", { text: c.title }), h("td", { class: "detail", text: c.text }),
          h("td", {}, h("div", { class: "actions" },
            h("button", { type: "button", "data-key": `edit:${c.id}`, text: t("cr.edit"), "aria-label": `${t("cr.edit")} ${c.title}`, onclick: () => {
              editing = c;
              title.value = c.title; shortcut.value = c.shortcut; text.value = c.text;
              submit.textContent = t("cr.save");
              title.focus();
            } }),
            h("button", { type: "button", class: "danger", text: t("delete"), "aria-label": `${t("delete")} ${c.title}`, onclick: async () => {
              if (!confirm(t("cr.delete_confirm", { title: c.title }))) return;
              try {
                await call("DELETE", `/admin/canned/${encodeURIComponent(c.id)}`);
                toast(t("cr.deleted"));
                await refresh();
                refocus(table, null, heading);
              } catch (err) { toast(t("cr.delete_failed", { why: err.message }), "error"); }
            } })))))));
    } catch (err) {
      status.textContent = err.status === 404 ? t("cr.unavailable") :
        t("cr.load_failed", { why: err.message });
    }
  }
  main.replaceChildren(h("section", { class: "page" }, heading, status, scrollable(t("nav.canned"), table), form));
  refresh();
}
