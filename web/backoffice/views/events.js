// Admin: the audit log, newest first, paged back with Load more.

import { call } from "../api.js";
import { fmtTime, h, scrollable } from "../dom.js";
import { S } from "../state.js";
import { t } from "../i18n.js";

export function renderEvents(main) {
  const status = h("p", { class: "muted", role: "status", text: t("loading") });
  const body = h("tbody");
  const more = h("button", { type: "button", text: t("find.more"), hidden: true, onclick: () => load() });
  let cursor = null;
  async function load() {
    try {
      const q = new URLSearchParams({ limit: "50" });
      if (cursor) q.set("cursor", cursor);
      const data = await call("GET", `/admin/events?${q}`);
      for (const e of data.events || []) {
        const at = typeof e.at === "number" ? (e.at > 1e12 ? e.at : e.at * 1000) : Date.parse(e.at);
        body.append(h("tr", {},
          h("td", { text: fmtTime(at) }), h("td", { text: e.kind }),
          h("td", { text: e.actor ? S.names.get(e.actor) || e.actor : "", title: e.actor || false }),
          h("td", { text: e.subject ? S.names.get(e.subject) || e.subject : "", title: e.subject || false }),
          h("td", { text: e.session_id || "" }),
          h("td", { class: "detail", text: e.detail ? JSON.stringify(e.detail) : "" })));
      }
      cursor = data.cursor || null;
      more.hidden = !cursor;
      status.textContent = body.children.length ? "" : t("events.none");
    } catch (err) {
      status.textContent = err.status === 404 ? t("events.unavailable") :
        t("events.load_failed", { why: err.message });
    }
  }
  main.replaceChildren(h("section", { class: "page" }, h("h1", { tabindex: "-1", text: t("nav.events") }), status,
    scrollable(t("events.table"), h("table", { class: "grid", "aria-label": t("events.table") },
      h("thead", {}, h("tr", {}, ["events.when", "events.event", "events.actor", "events.subject", "events.session", "events.detail"].map((k) => h("th", { scope: "col", text: t(k) })))),
      body)), more));
  load();
}
