// Your own sessions, each revocable, and Sign out everywhere; the sessions table the operators
// page uses for an operator's sessions too.

import { call } from "../api.js";
import { fmtTime, h, refocus, scrollable, toast } from "../dom.js";
import { signOut } from "./signin.js";

export const sessionCount = (n) => (n ? `${n} live session${n === 1 ? "" : "s"}` : "No live sessions.");

/** Fills a sessions table (yours, or an operator's for an admin); ``action(s)`` makes the last cell. */
export function fillSessions(table, sessions, action) {
  table.hidden = !sessions.length;
  table.replaceChildren(
    h("thead", {}, h("tr", {}, ["Device", "Method", "Signed in", "Last used", "Expires"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    h("tbody", {}, sessions.map((s) => h("tr", { "data-session": s.id },
      h("td", { class: "device", text: (s.device || "unknown device") + (s.current ? " (this one)" : "") }),
      h("td", { text: s.method || "" }),
      h("td", { text: s.created_at ? fmtTime(s.created_at * 1000) : "" }),
      h("td", { text: s.last_used_at ? fmtTime(s.last_used_at * 1000) : "" }),
      h("td", { text: s.expires_at ? fmtTime(s.expires_at * 1000) : "" }),
      h("td", {}, action(s))))));
}

export function renderSessions(main) {
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const table = h("table", { class: "grid", "aria-label": "Your sessions" });
  const heading = h("h1", { tabindex: "-1", text: "Sessions" });
  async function refresh() {
    try {
      const data = await call("GET", "/auth/sessions");
      const sessions = data.sessions || [];
      status.textContent = sessionCount(sessions.length);
      fillSessions(table, sessions, (s) => h("button", { type: "button", text: s.current ? "Sign out" : "Revoke",
        onclick: async () => {
          if (s.current) { await signOut(false); return; }
          try {
            await call("POST", "/auth/revoke", { kind: "session", session_id: s.id });
            toast("Session revoked.");
            await refresh();
            // that row is gone: the focus goes to the next Revoke, else the heading
            refocus(table, null, table.querySelector("button") || heading);
          } catch (err) { toast("Could not revoke: " + err.message, "error"); }
        } }));
    } catch (err) {
      status.textContent = "Could not load sessions: " + err.message;
    }
  }
  main.replaceChildren(h("section", { class: "page" },
    heading,
    h("p", { text: "Where you are signed in. Revoking a session signs that device out at once." }),
    status, scrollable("Your sessions", table),
    h("p", {}, h("button", { type: "button", class: "danger", id: "signout-everywhere", text: "Sign out everywhere",
      onclick: () => { if (confirm("Sign out of every device, this one included?")) signOut(true); } }))));
  refresh();
}
