// Admin: the operators - invite, role, block, reset two-step verification, an operator's sessions
// (each revocable), sign out everywhere, remove.

import { call } from "../api.js";
import { fmtTime, h, refocus, scrollable, toast } from "../dom.js";
import { t } from "../i18n.js";
import { S, me } from "../state.js";
import { fillSessions, sessionCount } from "./sessions.js";

export async function loadOperators() {
  const data = await call("GET", "/admin/operators");
  S.operators = data.operators || [];
  for (const op of S.operators) S.names.set(op.id, op.name || op.email);
  return S.operators;
}

const maxSet = new Map(); // operator id -> max_chats this page set

export function renderOperators(main) {
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const table = h("table", { class: "grid", "aria-label": "Operators" });
  const heading = h("h1", { tabindex: "-1", text: "Operators" });
  const email = h("input", { id: "inv-email", type: "email", required: true });
  const name = h("input", { id: "inv-name", required: true });
  const role = h("select", { id: "inv-role" }, h("option", { value: "operator", text: "operator" }),
    h("option", { value: "admin", text: "admin" }));
  const password = h("input", { id: "inv-password", type: "password", minlength: "8", autocomplete: "new-password",
    placeholder: "leave empty to send an invite" });
  const result = h("p", { class: "result", role: "status" });
  const form = h("form", { class: "card", "aria-labelledby": "inv-title", onsubmit: async (e) => {
    e.preventDefault();
    result.textContent = "";
    const body = { email: email.value.trim(), name: name.value.trim(), role: role.value };
    if (password.value) body.password = password.value;
    try {
      const r = await call("POST", "/admin/operators", body);
      result.textContent = r.invite_token
        ? `Invited. Send them this one-time link: ${location.origin}${location.pathname}#/invite/${encodeURIComponent(r.invite_token)}`
        : "Operator created.";
      form.reset();
      await refresh();
    } catch (err) {
      result.textContent = "Could not add: " + err.message;
    }
  } },
  h("h2", { id: "inv-title", text: "Invite an operator" }),
  h("div", { class: "fields" },
    h("label", {}, "E-mail", email), h("label", {}, "Name", name), h("label", {}, "Role", role),
    h("label", {}, "Password (optional)", password)),
  h("button", { type: "submit", class: "primary", text: "Invite" }), result);

  // one operator's live sessions, opened from their row
  let shown = null; // the operator whose sessions the panel shows
  const opStatus = h("p", { class: "muted", role: "status" });
  const opTable = h("table", { class: "grid", hidden: true });
  const opTitle = h("h2", { id: "op-sessions-title", tabindex: "-1" });
  const panel = h("section", { class: "card op-sessions", id: "op-sessions", "aria-labelledby": "op-sessions-title",
    hidden: true },
  h("div", { class: "panel-head" }, opTitle,
    h("button", { type: "button", class: "link", text: "Hide", "aria-label": "Hide these sessions",
      onclick: () => hideSessions(true) })),
  h("p", { class: "muted", text: "Revoking a session signs that device out at once." }), opStatus, opTable);

  const sessionsButton = (id) => table.querySelector(`tr[data-operator="${CSS.escape(id)}"] button.sessions`);
  function markOpen() {
    for (const b of table.querySelectorAll("button.sessions")) {
      b.setAttribute("aria-expanded", String(!!shown && b.closest("tr").dataset.operator === shown.id));
    }
  }

  function showSessions(op) {
    shown = op;
    opTitle.textContent = `Sessions of ${op.name || op.email} (${op.email})`;
    opTable.setAttribute("aria-label", `Sessions of ${op.email}`);
    opTable.hidden = true;
    opTable.replaceChildren();
    panel.hidden = false;
    markOpen();
    opTitle.focus();
    loadSessions();
  }

  function hideSessions(refocus) {
    const id = shown && shown.id;
    shown = null;
    panel.hidden = true;
    markOpen();
    const b = refocus && id ? sessionsButton(id) : null;
    if (b) b.focus();
  }

  async function loadSessions() {
    const op = shown;
    if (!op) return;
    opStatus.textContent = "Loading…";
    try {
      const data = await call("GET", `/auth/sessions?user_id=${encodeURIComponent(op.id)}`);
      if (shown !== op) return; // another operator was opened meanwhile
      const sessions = data.sessions || [];
      opStatus.textContent = sessionCount(sessions.length);
      fillSessions(opTable, sessions, (s) => h("button", { type: "button", class: "danger", text: "Revoke",
        "aria-label": `Revoke session on ${s.device || "unknown device"}, signed in ${s.created_at ? fmtTime(s.created_at * 1000) : "at an unknown time"}`,
        onclick: async () => {
          try {
            await call("POST", "/auth/revoke", { kind: "session", session_id: s.id });
            toast(`A session of ${op.email} was revoked.`);
          } catch (err) { toast("Could not revoke: " + err.message, "error"); }
          await loadSessions();
          // this button is gone: keep the focus in the panel (the next session, or the heading)
          if (shown === op) (opTable.querySelector("button") || opTitle).focus();
        } }));
    } catch (err) {
      if (shown !== op) return;
      opTable.hidden = true;
      opStatus.textContent = err.status === 403 ? "You may not see other operators' sessions." :
        err.status === 404 ? "Listing an operator's sessions is not available on this server." :
          "Could not load sessions: " + err.message;
    }
  }

  async function patch(op, body, done) {
    const key = document.activeElement && document.activeElement.dataset.key;
    try {
      await call("PATCH", `/admin/operators/${encodeURIComponent(op.id)}`, body);
      toast(done);
      await refresh();
      // the row was drawn again: the focus goes back to the same control in it
      refocus(table, key, heading);
    } catch (err) {
      toast("Could not change " + op.email + ": " + err.message, "error");
    }
  }

  async function refresh() {
    try {
      const ops = await loadOperators();
      status.textContent = `${ops.length} operators`;
      if (shown) {
        const still = ops.find((o) => o.id === shown.id);
        if (still) { shown = still; loadSessions(); } else hideSessions(false); // blocking ends sessions
      }
      table.replaceChildren(
        h("thead", {}, h("tr", {}, ["Name", "E-mail", "Role", "MFA", "Status", "Added", "Max chats", "Actions"].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, ops.map((op) => {
          const self = op.id === me().id;
          const roleSel = h("select", { "aria-label": `Role of ${op.email}`, "data-key": `role:${op.id}`, disabled: self,
            onchange: () => patch(op, { role: roleSel.value }, `${op.email} is now ${roleSel.value}.`) },
          ["operator", "admin"].map((r) => h("option", { value: r, text: r, selected: r === op.role })));
          // how many open chats they are given at most (1-50; the server's default when unset)
          // the list carries max_chats (null: the tenant's default, no limit); emptied: back to that
          const maxChats = h("input", { type: "number", min: "1", max: "50", step: "1", class: "max-chats",
            "aria-label": `Max chats of ${op.email}`, "data-key": `max:${op.id}`, placeholder: t("ops.max.none"),
            value: ("max_chats" in op ? op.max_chats : maxSet.get(op.id)) ?? "",
            onchange: () => {
              if (maxChats.value.trim() === "" && !maxChats.validity.badInput) {
                maxSet.delete(op.id);
                patch(op, { max_chats: null }, t("ops.max.cleared", { email: op.email }));
                return;
              }
              const n = Number(maxChats.value);
              if (!Number.isInteger(n) || n < 1 || n > 50) { toast(t("ops.max.bad"), "error"); return; }
              maxSet.set(op.id, n); // shown again after the redraw, should the list not carry it
              patch(op, { max_chats: n }, t("ops.max.set", { email: op.email, n }));
            } });
          return h("tr", { "data-operator": op.id, "data-email": op.email },
            h("td", { text: op.name }), h("td", { text: op.email }), h("td", {}, roleSel),
            h("td", { text: op.mfa_enabled ? "on" : "off" }),
            h("td", { text: op.blocked ? "blocked" : "active" }),
            h("td", { text: op.created_at ? fmtTime(op.created_at * 1000) : "" }),
            h("td", {}, maxChats),
            h("td", {}, h("div", { class: "actions" },
              self ? h("span", { class: "muted", text: "you" }) : [
                h("button", { type: "button", class: "sessions", "data-key": `sessions:${op.id}`, text: "Sessions", "aria-label": `Sessions of ${op.email}`,
                  "aria-controls": "op-sessions", "aria-expanded": String(!!shown && shown.id === op.id),
                  onclick: () => (shown && shown.id === op.id ? hideSessions(true) : showSessions(op)) }),
                h("button", { type: "button", "data-key": `block:${op.id}`, text: op.blocked ? "Unblock" : "Block",
                  "aria-label": `${op.blocked ? "Unblock" : "Block"} ${op.email}`,
                  onclick: () => patch(op, { blocked: !op.blocked }, `${op.email} ${op.blocked ? "unblocked" : "blocked"}.`) }),
                op.mfa_enabled ? h("button", { type: "button", "data-key": `mfa:${op.id}`, text: "Reset MFA",
                  "aria-label": `Reset MFA of ${op.email}`, // the visible text first (WCAG 2.5.3)
                  onclick: () => {
                    if (!confirm(`Turn off two-step verification for ${op.email}? They are signed out and sign in `
                      + "again with their password alone, then set up a new authenticator.")) return;
                    patch(op, { mfa_enabled: false }, `Two-step verification of ${op.email} was reset.`);
                  } }) : null,
                h("button", { type: "button", text: "Sign out everywhere", "aria-label": `Sign out everywhere: ${op.email}`,
                  onclick: async () => {
                    try {
                      await call("POST", "/auth/revoke", { kind: "user", user_id: op.id });
                      toast(`${op.email} was signed out everywhere.`);
                      if (shown && shown.id === op.id) loadSessions();
                    } catch (err) { toast("Could not sign out: " + err.message, "error"); }
                  } }),
                h("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Remove ${op.email}`,
                  onclick: async () => {
                    if (!confirm(`Remove ${op.email}? They are signed out and can no longer sign in.`)) return;
                    try {
                      await call("DELETE", `/admin/operators/${encodeURIComponent(op.id)}`);
                      toast(`${op.email} removed.`);
                      await refresh();
                      heading.focus(); // their row, and this button, are gone
                    } catch (err) { toast("Could not remove: " + err.message, "error"); }
                  } })])));
        })));
    } catch (err) {
      status.textContent = err.status === 404 ? "Operator management is not available on this server." :
        "Could not load operators: " + err.message;
    }
  }

  main.replaceChildren(h("section", { class: "page" }, heading, status, scrollable("Operators", table), panel, form));
  refresh();
}
