// Admin: reports (GET /admin/reports) with charts drawn here as SVG, the CSV download, and
// full-text search over closed conversations (GET /admin/search). Each chart has a text
// alternative: its title and description, and the same figures in a table below it.

import { call, download } from "../api.js";
import { fmtTime, h } from "../dom.js";
import { loadStaff, nameOf } from "../state.js";
import { t } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const iso = (d) => d.toISOString().slice(0, 10);

function s(tag, attrs = {}, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) n.setAttribute(k, String(v));
  for (const c of children.flat()) if (c != null) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

/** A bar chart: one bar per item, values from 0; labelled for screen readers (title, desc). */
export function barChart({ id, title, items, label, value, unit = "" }) {
  const w = 640, hgt = 220, pad = { l: 40, r: 8, t: 12, b: 48 };
  const max = Math.max(1, ...items.map(value));
  const bw = (w - pad.l - pad.r) / Math.max(1, items.length);
  const y = (v) => pad.t + (hgt - pad.t - pad.b) * (1 - v / max);
  const desc = items.map((it) => `${label(it)}: ${value(it)}${unit}`).join(", ") || t("rep.no_data");
  const ticks = [0, max / 2, max].map((v) => Math.round(v));
  return s("svg", { viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`, class: "chart", id },
    s("title", { id: `${id}-t` }, title), s("desc", { id: `${id}-d` }, desc),
    ticks.map((t) => [s("line", { x1: pad.l, x2: w - pad.r, y1: y(t), y2: y(t), class: "chart-grid" }),
      s("text", { x: pad.l - 6, y: y(t) + 4, "text-anchor": "end", class: "chart-axis" }, String(t))]),
    items.map((it, i) => {
      const v = value(it), x = pad.l + i * bw;
      return s("g", {},
        s("rect", { x: x + bw * 0.15, y: y(v), width: Math.max(1, bw * 0.7), height: Math.max(0, hgt - pad.b - y(v)),
          class: "chart-bar" }, s("title", {}, `${label(it)}: ${v}${unit}`)),
        items.length <= 31 ? s("text", { x: x + bw / 2, y: hgt - pad.b + 14, "text-anchor": "middle", class: "chart-axis",
          transform: `rotate(35 ${x + bw / 2} ${hgt - pad.b + 14})` }, label(it).slice(-5)) : null);
    }));
}

const secs = (v) => (v == null ? "–" : v < 120 ? `${Math.round(v)} s` : v < 7200 ? `${Math.round(v / 60)} min` : `${(v / 3600).toFixed(1)} h`);
const FIGURES = [["conversations", t("rep.conversations"), String], ["first_response_p50", t("rep.first_p50"), secs],
  ["first_response_p90", t("rep.first_p90"), secs], ["resolution_p50", t("rep.resolution_p50"), secs],
  ["resolution_p90", t("rep.resolution_p90"), secs], ["queue_wait_p50", t("rep.queue_p50"), secs],
  ["csat_avg", t("rep.csat_avg"), (v) => (v == null ? "–" : v.toFixed(2))], ["csat_count", t("rep.csat_count"), String],
  ["outside_hours", t("rep.outside"), (v) => (v == null ? t("rep.no_hours") : String(v))]];

function table(label, rows, key, keyLabel) {
  return h("table", { class: "grid", "aria-label": label },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: keyLabel }), FIGURES.map(([, t]) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row", text: key(r) }),
      FIGURES.map(([k, , fmt]) => h("td", { text: fmt(r[k]) }))))));
}

export function renderReports(main) {
  const today = new Date();
  const from = h("input", { type: "date", id: "rep-from", value: iso(new Date(today - 29 * 864e5)), required: true });
  const to = h("input", { type: "date", id: "rep-to", value: iso(today), required: true });
  const operator = h("select", { id: "rep-op" }, h("option", { value: "", text: t("rep.everyone") }));
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const out = h("div", { class: "report" });
  const csv = h("button", { type: "button", text: t("rep.csv"), onclick: () => saveCsv() });
  const query = () => {
    const q = new URLSearchParams({ from: from.value, to: to.value });
    if (operator.value) q.set("operator", operator.value);
    return q;
  };

  async function load() {
    status.textContent = t("loading");
    try {
      const r = await call("GET", `/admin/reports?${query()}`);
      status.textContent = t("rep.closed", { n: r.totals.conversations, from: r.from, to: r.to });
      out.replaceChildren(
        h("h2", { text: t("rep.totals") }),
        h("dl", { class: "totals" }, FIGURES.map(([k, t, fmt]) => h("div", {}, h("dt", { text: t }), h("dd", { text: fmt(r.totals[k]) })))),
        h("h2", { text: t("rep.per_day") }),
        barChart({ id: "chart-days", title: t("rep.closed_per_day"), items: r.days, label: (d) => d.day,
          value: (d) => d.conversations }),
        table(t("rep.figures_day"), r.days, (d) => d.day, t("rep.day")),
        h("h2", { text: t("rep.per_operator") }),
        barChart({ id: "chart-ops", title: t("rep.conv_per_operator"), items: r.operators,
          label: (o) => (o.operator ? nameOf(o.operator) : t("rep.unassigned")), value: (o) => o.conversations }),
        table(t("rep.figures_operator"), r.operators, (o) => (o.operator ? nameOf(o.operator) : t("rep.unassigned")), t("rep.operator")));
    } catch (err) {
      status.textContent = t("rep.load_failed", { why: err.message });
    }
  }

  async function saveCsv() {
    try {
      const text = await download(`/admin/reports?${query()}`, "text/csv");
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      const a = h("a", { href: url, download: `report-${from.value}-${to.value}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      status.textContent = t("rep.csv_failed", { why: err.message });
    }
  }

  const form = h("form", { class: "filters", "aria-label": t("rep.filters"), onsubmit: (e) => { e.preventDefault(); load(); } },
    h("div", { class: "field" }, h("label", { for: from.id, text: t("rep.from") }), from),
    h("div", { class: "field" }, h("label", { for: to.id, text: t("rep.to") }), to),
    h("div", { class: "field" }, h("label", { for: operator.id, text: t("rep.operator") }), operator),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: t("rep.show") }), csv));
  main.replaceChildren(h("section", { class: "page reports" }, h("h1", { text: t("nav.reports") }), form, status, out,
    searchSection(from, to)));
  loadStaff().then((staff) => {
    for (const p of staff) operator.append(h("option", { value: p.id, text: p.name }));
  }).catch(() => {});
  load();
}

function searchSection(from, to) {
  const q = h("input", { type: "search", id: "search-q", minlength: "2", maxlength: "200", required: true });
  const list = h("ol", { class: "results" });
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const more = h("button", { type: "button", text: t("find.more"), hidden: true, onclick: () => run(false) });
  let cursor = null;
  async function run(fresh) {
    if (fresh) { cursor = null; list.replaceChildren(); }
    const params = new URLSearchParams({ q: q.value, from: from.value, to: to.value });
    if (cursor) params.set("cursor", cursor);
    status.textContent = t("rep.searching");
    try {
      const r = await call("GET", `/admin/search?${params}`);
      for (const it of r.items) {
        list.append(h("li", {}, h("a", { href: `#/inbox/${it.channel_id}`, text: `${nameOf(it.visitor) || it.visitor} - ${fmtTime(it.closed_at)}` }),
          h("p", { class: "snippet", text: it.snippet }), h("p", { class: "muted", text: t("rep.matches", { n: it.matches, name: it.assignee ? nameOf(it.assignee) : t("rep.nobody") }) })));
      }
      cursor = r.next;
      more.hidden = !cursor;
      status.textContent = list.children.length ? t("rep.shown", { n: list.children.length }) : t("rep.no_match");
    } catch (err) {
      status.textContent = t("rep.search_failed", { why: err.message });
    }
  }
  return h("section", { class: "search", "aria-labelledby": "search-h" }, h("h2", { id: "search-h", text: t("rep.search_title") }),
    h("form", { role: "search", onsubmit: (e) => { e.preventDefault(); run(true); } },
      h("label", { for: q.id, text: t("rep.words") }), q, h("button", { type: "submit", text: t("rep.search") })),
    h("p", { class: "hint", text: t("rep.search_hint") }),
    status, list, more);
}
