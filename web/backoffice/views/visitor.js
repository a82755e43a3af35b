// The visitor panel beside a support conversation: who they are (level, name, email, the
// website's attributes - signed ones apart from unsigned ones, never mixed), where they are (page,
// referrer, language, local time), the pre-chat answers, and their past conversations, each a
// link that opens it to read.

import { fmtTime, h } from "../dom.js";
import { t } from "../i18n.js";
import { chat } from "../socket.js";
import { S, UNNAMED, nameOf } from "../state.js";

const past = new Map(); // visitor id -> {channels, at}: channel.query's answer, for a minute
const PAST_FOR_MS = 60_000;

/** The visitor's profile as the server gives it on the channel (section 8: `attributes` and
 * whether they were signed). Read from `visitor_profile` / `visitor_attributes` as well, so
 * the panel shows what a server version names either way. */
function profile(ch) {
  const p = ch.visitor_profile || ch.visitor_info || {};
  const attrs = p.attributes || ch.visitor_attributes || ch.attributes || null;
  const signed = p.attributes_signed ?? ch.attributes_signed ?? ch.visitor_attributes_signed ?? false;
  const name = p.name || ch.visitor_name || S.names.get(ch.visitor) || "";
  return { name: name === UNNAMED ? "" : name, email: p.email || ch.visitor_email || "",
    level: p.level || ch.visitor_level || (String(ch.visitor || "").startsWith("anon-") ? "anonymous" : "known"),
    attributes: attrs, signed: !!signed };
}

function row(label, value) {
  return [h("dt", { text: label }), h("dd", {}, value == null || value === "" ? h("span", { class: "muted", text: "-" }) : value)];
}

/** Now, where the visitor is: their time zone if the context carries one, else unknown. */
function localTime(ctx) {
  const zone = ctx && (ctx.time_zone || ctx.timezone);
  if (!zone) return t("visitor.unknown");
  try {
    return new Date().toLocaleTimeString(ctx.locale || [], { timeZone: zone, hour: "2-digit", minute: "2-digit" }) + ` (${zone})`;
  } catch { return t("visitor.unknown"); }
}

function attributeTable(caption, attrs, signed) {
  const entries = Object.entries(attrs);
  return h("table", { class: `attrs ${signed ? "signed" : "unsigned"}` },
    h("caption", { text: caption }),
    h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row", text: k }),
      h("td", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })))));
}

/** Fill ``aside`` for the support channel ``ch`` (empty for a team channel). */
export function renderVisitorPanel(aside, ch) {
  if (!aside) return;
  if (!ch || ch.type !== "support") { aside.hidden = true; aside.replaceChildren(); return; }
  aside.hidden = false;
  const p = profile(ch);
  const ctx = ch.context || {};
  const link = (url) => (/^https?:\/\//i.test(url || "") ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer",
    text: url }) : url || "");
  const parts = [
    h("div", { class: "panel-head" }, h("h2", { id: "visitor-title", text: t("visitor.panel") }),
      h("button", { type: "button", class: "visitor-close", text: t("close"), "aria-label": t("visitor.close"),
        onclick: () => { document.querySelector(".chat").classList.remove("show-visitor");
          const toggle = document.getElementById("visitor-toggle");
          if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); } } })),
    h("dl", { class: "facts" },
      row(t("visitor.level"), p.level === "anonymous" ? t("visitor.anonymous") : p.level === "known" ? t("visitor.known") : p.level),
      row(t("visitor.name"), p.name || nameOf(ch.visitor)),
      row(t("visitor.email"), p.email),
      ch.visitor_email && ch.visitor_email !== p.email ? row(t("visitor.follow"), ch.visitor_email) : null,
      row(t("visitor.page"), ctx.title ? h("span", {}, h("span", { class: "page-title", text: ctx.title }), h("br"), link(ctx.url)) : link(ctx.url)),
      row(t("visitor.referrer"), link(ctx.referrer)),
      row(t("visitor.language"), ctx.locale || ""),
      row(t("visitor.time"), localTime(ctx)),
      ch.csat ? row(t("visitor.rating"), `${ch.csat.score}/5${ch.csat.comment ? ` - ${ch.csat.comment}` : ""}`) : null),
  ];
  if (p.attributes && Object.keys(p.attributes).length) {
    // signed and unsigned never share a table: an operator must not take a claim the visitor's
    // browser could have written for one the website vouched for
    parts.push(attributeTable(p.signed ? t("visitor.signed") : t("visitor.unsigned"), p.attributes, p.signed));
  }
  const answers = Object.entries(ch.prechat || {});
  if (answers.length) {
    parts.push(h("h3", { text: t("visitor.prechat") }),
      h("dl", { class: "facts prechat" }, answers.flatMap(([k, v]) => row(k, v === true ? "✓" : String(v)))));
  }
  const pastList = h("ul", { class: "past", "aria-labelledby": "past-title" });
  parts.push(h("h3", { id: "past-title", text: t("visitor.past") }), pastList);
  aside.replaceChildren(...parts);
  fillPast(pastList, ch);
}

async function fillPast(list, ch) {
  if (!ch.visitor) return;
  let known = past.get(ch.visitor);
  if (!known || Date.now() - known.at > PAST_FOR_MS) {
    try {
      const data = await chat.request("channel.query", { filter: { visitor: ch.visitor }, limit: 20 });
      known = { channels: data.channels || [], at: Date.now() };
      past.set(ch.visitor, known);
    } catch {
      list.replaceChildren(h("li", { class: "muted", text: t("visitor.none") }));
      return;
    }
  }
  const others = known.channels.filter((c) => c.id !== ch.id);
  list.replaceChildren(...(others.length ? others.map((c) => h("li", {},
    h("a", { href: `#/inbox/${c.id}`, text: `${fmtTime(c.created_at)} · ${c.status}` }),
    c.labels && c.labels.length ? h("span", { class: "muted", text: ` ${c.labels.join(", ")}` }) : null))
    : [h("li", { class: "muted", text: t("visitor.none") })]));
}
