// Your own sessions, each revocable, and Sign out everywhere; the sessions table the operators
// page uses for an operator's sessions too.

import { call } from "../api.js";
import { fmtTime, h, refocus, scrollable, toast } from "../dom.js";
import { signOut } from "./signin.js";
import { t } from "../i18n.js";

export const sessionCount = (n) => (n === 1 ? t("sessions.one") : n ? t("sessions.many", { n }) : t("sessions.none"));

/** Fills a sessions table (yours, or an operator's for an admin); ``action(s)`` makes the last cell. */
export function fillSessions(table, sessions, action) {
  table.hidden = !sessions.length;
  table.replaceChildren(
    h("thead", {}, h("tr", {}, ["sessions.device", "sessions.method", "sessions.signed_in", "sessions.last_used", "sessions.expires"].map((k) => h("th", { scope: "col", text: t(k) })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: t("ops.col.actions") })))),
    h("tbody", {}, sessions.map((s) => h("tr", { "data-session": s.id },
      h("td", { class: "device", text: (s.device || t("unknown_device")) + (s.current ? t("sessions.this_one") : "") }),
      h("td", { text: s.method || "" }),
      h("td", { text: s.created_at ? fmtTime(s.created_at * 1000) : "" }),
      h("td", { text: s.last_used_at ? fmtTime(s.last_used_at * 1000) : "" }),
      h("td", { text: s.expires_at ? fmtTime(s.expires_at * 1000) : "" }),
      h("td", {}, action(s))))));
}

export function renderSessions(main) {
  const status = h("p", { class: "muted", role: "status", text: t("loading") });
  const table = h("table", { class: "grid", "aria-label": t("sessions.yours") });
  const heading = h("h1", { tabindex: "-1", text: t("nav.sessions") });
  async function refresh() {
    try {
      const data = await call("GET", "/auth/sessions");
      const sessions = data.sessions || [];
      status.textContent = sessionCount(sessions.length);
      fillSessions(table, sessions, (s) => h("button", { type: "button", text: s.current ? t("signout") : t("revoke"),
        onclick: async () => {
          if (s.current) { await signOut(false); return; }
          try {
            await call("POST", "/auth/revoke", { kind: "session", session_id: s.id });
            toast(t("sessions.revoked"));
            await refresh();
            // that row is gone: the focus goes to the next Revoke, else the heading
            refocus(table, null, table.querySelector("button") || heading);
          } catch (err) { toast(t("revoke_failed", { why: err.message }), "error"); }
        } }));
    } catch (err) {
      status.textContent = t("sessions.load_failed", { why: err.message });
    }
  }
  main.replaceChildren(h("section", { class: "page" },
    heading,
    h("p", { text: t("sessions.intro") }),
    status, scrollable(t("sessions.yours"), table),
    h("p", {}, h("button", { type: "button", class: "danger", id: "signout-everywhere", text: t("ops.signout_all"),
      onclick: () => { if (confirm(t("sessions.signout_all_confirm"))) signOut(true); } }))));
  refresh();
}
