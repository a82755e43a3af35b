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
  const status = h("p", { class: "muted", role: "status", text: t("loading") });
  const table = h("table", { class: "grid", "aria-label": t("ops.title") });
  const heading = h("h1", { tabindex: "-1", text: t("ops.title") });
  const email = h("input", { id: "inv-email", type: "email", required: true });
  const name = h("input", { id: "inv-name", required: true });
  const role = h("select", { id: "inv-role" }, h("option", { value: "operator", text: t("role.operator") }),
    h("option", { value: "admin", text: t("role.admin") }));
  const password = h("input", { id: "inv-password", type: "password", minlength: "8", autocomplete: "new-password",
    placeholder: t("ops.invite_placeholder") });
  const result = h("p", { class: "result", role: "status" });
  const form = h("form", { class: "card", "aria-labelledby": "inv-title", onsubmit: async (e) => {
    e.preventDefault();
    result.textContent = "";
    const body = { email: email.value.trim(), name: name.value.trim(), role: role.value };
    if (password.value) body.password = password.value;
    try {
      const r = await call("POST", "/admin/operators", body);
      result.textContent = r.invite_token
        ? t("ops.invited", { link: `${location.origin}${location.pathname}#/invite/${encodeURIComponent(r.invite_token)}` })
        : t("ops.created");
      form.reset();
      await refresh();
    } catch (err) {
      result.textContent = t("ops.add_failed", { why: err.message });
    }
  } },
  h("h2", { id: "inv-title", text: t("ops.invite_title") }),
  h("div", { class: "fields" },
    h("label", {}, t("signin.email"), email), h("label", {}, t("name"), name), h("label", {}, t("role"), role),
    h("label", {}, t("ops.password_optional"), password)),
  h("button", { type: "submit", class: "primary", text: t("ops.invite") }), result);

  // one operator's live sessions, opened from their row
  let shown = null; // the operator whose sessions the panel shows
  const opStatus = h("p", { class: "muted", role: "status" });
  const opTable = h("table", { class: "grid", hidden: true });
  const opTitle = h("h2", { id: "op-sessions-title", tabindex: "-1" });
  const panel = h("section", { class: "card op-sessions", id: "op-sessions", "aria-labelledby": "op-sessions-title",
    hidden: true },
  h("div", { class: "panel-head" }, opTitle,
    h("button", { type: "button", class: "link", text: t("hide"), "aria-label": t("ops.hide_sessions"),
      onclick: () => hideSessions(true) })),
  h("p", { class: "muted", text: t("ops.revoke_hint") }), opStatus, opTable);

  const sessionsButton = (id) => table.querySelector(`tr[data-operator="${CSS.escape(id)}"] button.sessions`);
  function markOpen() {
    for (const b of table.querySelectorAll("button.sessions")) {
      b.setAttribute("aria-expanded", String(!!shown && b.closest("tr").dataset.operator === shown.id));
    }
  }

  function showSessions(op) {
    shown = op;
    opTitle.textContent = t("ops.sessions_of", { name: op.name || op.email, email: op.email });
    opTable.setAttribute("aria-label", t("ops.sessions_of_email", { email: op.email }));
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
    opStatus.textContent = t("loading");
    try {
      const data = await call("GET", `/auth/sessions?user_id=${encodeURIComponent(op.id)}`);
      if (shown !== op) return; // another operator was opened meanwhile
      const sessions = data.sessions || [];
      opStatus.textContent = sessionCount(sessions.length);
      fillSessions(opTable, sessions, (s) => h("button", { type: "button", class: "danger", text: t("revoke"),
        "aria-label": t("ops.revoke_label", { device: s.device || t("unknown_device"), when: s.created_at ? fmtTime(s.created_at * 1000) : t("unknown_time") }),
        onclick: async () => {
          try {
            await call("POST", "/auth/revoke", { kind: "session", session_id: s.id });
            toast(t("ops.revoked", { email: op.email }));
          } catch (err) { toast(t("revoke_failed", { why: err.message }), "error"); }
          await loadSessions();
          // this button is gone: keep the focus in the panel (the next session, or the heading)
          if (shown === op) (opTable.querySelector("button") || opTitle).focus();
        } }));
    } catch (err) {
      if (shown !== op) return;
      opTable.hidden = true;
      opStatus.textContent = err.status === 403 ? t("ops.sessions_forbidden") :
        err.status === 404 ? t("ops.sessions_unavailable") :
          t("sessions.load_failed", { why: err.message });
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
      toast(t("ops.change_failed", { email: op.email, why: err.message }), "error");
    }
  }

  async function refresh() {
    try {
      const ops = await loadOperators();
      status.textContent = t("ops.count", { n: ops.length });
      if (shown) {
        const still = ops.find((o) => o.id === shown.id);
        if (still) { shown = still; loadSessions(); } else hideSessions(false); // blocking ends sessions
      }
      table.replaceChildren(
        h("thead", {}, h("tr", {}, ["name", "signin.email", "role", "ops.col.mfa", "ops.col.status", "ops.col.added", "ops.col.max", "ops.col.actions"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, ops.map((op) => {
          const self = op.id === me().id;
          const roleSel = h("select", { "aria-label": t("ops.role_of", { email: op.email }), "data-key": `role:${op.id}`, disabled: self,
            onchange: () => patch(op, { role: roleSel.value }, t("ops.now_role", { email: op.email, role: t("role." + roleSel.value) })) },
          ["operator", "admin"].map((r) => h("option", { value: r, text: t("role." + r), selected: r === op.role })));
          // how many open chats they are given at most (1-50; the server's default when unset)
          // the list carries max_chats (null: the tenant's default, no limit); emptied: back to that
          const maxChats = h("input", { type: "number", min: "1", max: "50", step: "1", class: "max-chats",
            "aria-label": t("ops.max_of", { email: op.email }), "data-key": `max:${op.id}`, placeholder: t("ops.no_limit"),
            value: ("max_chats" in op ? op.max_chats : maxSet.get(op.id)) ?? "",
            onchange: () => {
              if (maxChats.value.trim() === "" && !maxChats.validity.badInput) {
                maxSet.delete(op.id);
                patch(op, { max_chats: null }, t("ops.max.cleared", { email: op.email }));
                return;
              }
              const n = Number(maxChats.value);
              if (!Number.isInteger(n) || n < 1 || n > 50) { toast(t("ops.max_bad"), "error"); return; }
              maxSet.set(op.id, n); // shown again after the redraw, should the list not carry it
              patch(op, { max_chats: n }, t("ops.max_set", { email: op.email, n }));
            } });
          return h("tr", { "data-operator": op.id, "data-email": op.email },
            h("td", { text: op.name }), h("td", { text: op.email }), h("td", {}, roleSel),
            h("td", { text: op.mfa_enabled ? t("on") : t("off") }),
            h("td", { text: op.blocked ? t("ops.blocked") : t("ops.active") }),
            h("td", { text: op.created_at ? fmtTime(op.created_at * 1000) : "" }),
            h("td", {}, maxChats),
            h("td", {}, h("div", { class: "actions" },
              self ? h("span", { class: "muted", text: t("you.lower") }) : [
                h("button", { type: "button", class: "sessions", "data-key": `sessions:${op.id}`, text: t("nav.sessions"), "aria-label": t("ops.sessions_of_email", { email: op.email }),
                  "aria-controls": "op-sessions", "aria-expanded": String(!!shown && shown.id === op.id),
                  onclick: () => (shown && shown.id === op.id ? hideSessions(true) : showSessions(op)) }),
                h("button", { type: "button", "data-key": `block:${op.id}`, text: op.blocked ? t("ops.unblock") : t("ops.block"),
                  "aria-label": `${op.blocked ? t("ops.unblock") : t("ops.block")} ${op.email}`,
                  onclick: () => patch(op, { blocked: !op.blocked }, t(op.blocked ? "ops.unblock_done" : "ops.block_done", { email: op.email })) }),
                op.mfa_enabled ? h("button", { type: "button", "data-key": `mfa:${op.id}`, text: t("ops.reset_mfa"),
                  "aria-label": t("ops.reset_mfa_of", { email: op.email }), // the visible text first (WCAG 2.5.3)
                  onclick: () => {
                    if (!confirm(t("ops.reset_mfa_confirm", { email: op.email }))) return;
                    patch(op, { mfa_enabled: false }, t("ops.mfa_reset", { email: op.email }));
                  } }) : null,
                h("button", { type: "button", text: t("ops.signout_all"), "aria-label": `${t("ops.signout_all")}: ${op.email}`,
                  onclick: async () => {
                    try {
                      await call("POST", "/auth/revoke", { kind: "user", user_id: op.id });
                      toast(t("ops.signed_out_all", { email: op.email }));
                      if (shown && shown.id === op.id) loadSessions();
                    } catch (err) { toast(t("signout_failed", { why: err.message }), "error"); }
                  } }),
                h("button", { type: "button", class: "danger", text: t("remove"), "aria-label": `${t("remove")} ${op.email}`,
                  onclick: async () => {
                    if (!confirm(t("ops.remove_confirm", { email: op.email }))) return;
                    try {
                      await call("DELETE", `/admin/operators/${encodeURIComponent(op.id)}`);
                      toast(t("ops.removed", { email: op.email }));
                      await refresh();
                      heading.focus(); // their row, and this button, are gone
                    } catch (err) { toast(t("remove_failed", { why: err.message }), "error"); }
                  } })])));
        })));
    } catch (err) {
      status.textContent = err.status === 404 ? t("ops.unavailable") :
        t("ops.load_failed", { why: err.message });
    }
  }

  main.replaceChildren(h("section", { class: "page" }, heading, status, scrollable(t("ops.title"), table), panel, form));
  refresh();
}
