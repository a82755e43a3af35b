// Transfer: the assignee (or an admin) hands a conversation to a colleague who is online and has
// room (GET /staff), with an optional note; channel.assign with operator_id and note. A native
// <dialog> opened modally: it keeps the focus inside and Escape closes it; on closing, the focus
// goes back to the Transfer button.

import { h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { chat } from "../socket.js";
import { S, loadStaff, me } from "../state.js";

/** Whether a colleague may take a chat now: online (not away) and under their max_chats
 * (null: no cap). A /staff without presence fields (an older server) counts everyone. */
function available(s) {
  return (s.status === undefined || s.status === "online") && (s.online === undefined || s.online) &&
    (s.max_chats == null || s.open_chats === undefined || s.open_chats < s.max_chats);
}

/** Who may take a chat: staff other than me who are available. */
export function candidates(staff) {
  return colleagues(staff).filter(available);
}

function colleagues(staff) {
  return (staff || []).filter((s) => s.id !== me().id && s.role !== "visitor");
}

/** A colleague as the picker shows them: name, open chats of their cap, and why they cannot
 * take it (away, offline, full) - shown, but not choosable. */
function optionFor(s) {
  const load = s.max_chats != null ? ` (${s.open_chats || 0}/${s.max_chats})` : "";
  const why = available(s) ? "" : s.status === "away" ? t("transfer.away") : s.status === "offline" ? t("transfer.offline")
    : t("transfer.full");
  return h("option", { value: s.id, text: s.name + load + (why ? ` - ${why}` : ""), disabled: !available(s) });
}

/** ``changed(channel)``: the page draws the conversation again with its new assignee. */
export async function openTransfer(ch, opener, changed) {
  let staff = [];
  try { staff = await loadStaff(); } catch { staff = S.staff || []; }
  const people = candidates(staff);
  // the available first (the first is chosen), then those who cannot take it now, greyed out
  const others = colleagues(staff).filter((s) => !available(s));
  const to = h("select", { id: "transfer-to", required: true }, [...people, ...others].map(optionFor));
  const note = h("textarea", { id: "transfer-note", rows: "3", maxlength: "1000" });
  const error = h("p", { class: "error", role: "alert" });
  const dialog = h("dialog", { class: "transfer", "aria-labelledby": "transfer-title" });
  const done = () => { dialog.close(); };
  // back to the Transfer button, or (redrawn or gone: no longer the assignee) to the conversation's title
  dialog.addEventListener("close", () => {
    dialog.remove();
    const back = opener && opener.isConnected ? opener : document.getElementById("transfer") || document.getElementById("conv-title");
    if (back) back.focus();
  });
  dialog.append(h("form", { method: "dialog", onsubmit: async (e) => {
    e.preventDefault();
    if (!to.value) return;
    const params = { channel_id: ch.id, operator_id: to.value };
    if (note.value.trim()) params.note = note.value.trim();
    try {
      const { channel } = await chat.request("channel.assign", params);
      if (channel) { S.channels.set(channel.id, channel); changed(channel); }
      toast(t("transfer.done", { name: to.selectedOptions[0].textContent }));
      done();
    } catch (err) {
      error.textContent = err.message || err.code;
    }
  } },
  h("h2", { id: "transfer-title", text: t("transfer.title") }),
  people.length ? null : h("p", { text: t("transfer.nobody") }),
  // the list also when nobody may take it: who is away, offline or full is shown, greyed out
  people.length || others.length ? h("label", { for: "transfer-to", text: t("transfer.to") }) : null,
  people.length || others.length ? to : null,
  h("label", { for: "transfer-note", text: t("transfer.note") }), note, error,
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "primary", text: t("transfer.go"), disabled: !people.length }),
    h("button", { type: "button", text: t("cancel"), onclick: done }))));
  document.body.append(dialog);
  dialog.showModal();
}
