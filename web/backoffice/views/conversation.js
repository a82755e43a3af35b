// One open conversation: its messages (older ones paged back, deletions, attachments, "Seen"),
// the reply box and its outbox, typing and read receipts, and Claim / Close.

import { $, fmtClock, fmtTime, h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { chat } from "../socket.js";
import { S, channelTitle, hasScope, isAdmin, me, nameOf, rememberNames, senderName } from "../state.js";
import { cannedPicker } from "./canned.js";
import { renderLists, watch } from "./channels.js";
import { openTransfer } from "./transfer.js";
import { renderVisitorPanel } from "./visitor.js";

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;

const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + "-" + Math.random().toString(16).slice(2));

/** An attachment, downloaded: attachment.open's 5-minute link is fetched here and saved under
 * the file's name, so this page never navigates away (an S3 error page would replace it). */
async function openAttachment(m, a) {
  try {
    const { url, name } = await chat.request("attachment.open", { channel_id: m.channel_id, message_id: m.id,
      key: a.key });
    if (!/^https?:\/\//.test(url)) throw new Error(t("conv.not_link"));
    const r = await fetch(url, { credentials: "omit" });
    if (!r.ok) throw new Error(t("conv.download_failed", { status: r.status }));
    const href = URL.createObjectURL(await r.blob());
    const link = document.createElement("a");
    link.href = href;
    link.download = name || "attachment";
    link.click();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
  } catch (err) {
    toast(t("conv.att_failed", { why: err.message || err.code }), "error");
  }
}

export async function openChannel(id, resync = false) {
  const pane = $("#conversation");
  if (!pane) return;
  if (!resync || !S.current || S.current.id !== id) {
    S.current = { id, messages: [], byId: new Map(), cursor: null, more: false, seen: new Map(), outbox: [] };
    buildConversation(pane);
  }
  S.unread.delete(id);
  renderLists();
  if (!chat.ws || chat.ws.readyState !== 1) return; // the connection's sync opens it again
  try {
    const data = await watch(id);
    if (!S.current || S.current.id !== id) return;
    S.current.more = (data.messages || []).length >= 50;
    addToConversation(data.messages || []);
    renderConversationHeader();
    markRead();
    flushOutbox();
  } catch (err) {
    if (S.current && S.current.id === id) {
      pane.replaceChildren(h("p", { class: "error", text: err.code === "not_found" ? t("conv.not_visible") :
        t("conv.open_failed", { why: err.message || err.code }) }));
    }
  }
}

function buildConversation(pane) {
  const input = h("textarea", { id: "composer", rows: "2", maxlength: "4000", placeholder: t("reply.placeholder"),
    "aria-label": t("reply"),
    onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); } },
    oninput: () => { if (!note.checked) sendTyping(); } });
  // a private note: staff only (message.send internal:true); the box says which it is writing
  const note = h("input", { type: "checkbox", id: "as-note", onchange: () => {
    form.classList.toggle("noting", note.checked);
    input.placeholder = note.checked ? t("note.placeholder") : t("reply.placeholder");
  } });
  const form = h("form", { class: "composer", onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendMessage(text, note.checked);
  } }, h("div", { class: "compose-box" }, cannedPicker(input, cannedNames), input,
    h("label", { class: "check note-toggle", for: "as-note" }, note, t("note.toggle"))),
  h("button", { type: "submit", class: "primary", text: t("send") }));
  const team = location.hash.startsWith("#/team");
  pane.replaceChildren(
    h("div", { class: "conv-head" },
      // small screens show the conversation alone: the way back to the list (style.css)
      h("a", { class: "back", href: team ? "#/team" : "#/inbox", text: team ? t("conv.back_team") : t("back.inbox") }),
      h("div", { class: "conv-title" }, h("h2", { id: "conv-title", tabindex: "-1" }),
        h("p", { id: "conv-sub", class: "muted" })),
      h("div", { class: "conv-actions", id: "conv-actions" }),
      h("div", { class: "labels", id: "conv-labels" })),
    h("div", { class: "log-wrap" },
      h("button", { type: "button", id: "older", class: "link", hidden: true, text: t("older"),
        onclick: loadOlder }),
      // the log role is on a wrapper: on the <ol> it would orphan every <li> (axe: listitem)
      h("div", { id: "message-log", class: "message-log", role: "log", "aria-live": "polite", "aria-label": t("messages"),
        tabindex: "0" }, h("ol", { id: "messages", class: "messages" }))),
    h("div", { id: "typing", class: "typing", role: "status", "aria-live": "polite", hidden: true }),
    h("p", { id: "readonly", class: "readonly", tabindex: "-1", hidden: true }),
    form);
  renderConversationHeader();
}

function mayWrite(ch) {
  if (!ch || ch.status === "closed") return false;
  if (ch.type === "team") return ch.members.includes(me().id);
  return ch.assignee === me().id && ch.status === "open";
}

/** Private notes: any staff member who may read a support conversation that is not closed
 * (docs/chat-policy.md, the note rows) - the page shows only what its reader may read. */
function mayNote(ch) {
  return !!ch && ch.type === "support" && ch.status !== "closed";
}

export function renderConversationHeader() {
  if (!S.current) return;
  const ch = S.channels.get(S.current.id);
  if (!ch || !$("#conv-title")) return;
  $("#conv-title").textContent = channelTitle(ch);
  const sub = ch.type === "team" ? t("conv.team_sub", { n: ch.members.length })
    : `${t(`status.${ch.status}`)} · ${ch.assignee ? t("conv.assigned_to", { name: nameOf(ch.assignee) }) : t("conv.not_assigned")} · ${t("conv.started", { when: fmtTime(ch.created_at) })}`;
  $("#conv-sub").textContent = sub;
  renderLabels(ch);
  renderVisitorPanel($("#visitor-panel"), ch);
  const actions = $("#conv-actions");
  const buttons = [];
  if (ch.type === "support" && ch.status !== "closed" && ch.assignee !== me().id &&
      (ch.status === "queued" || isAdmin())) {
    buttons.push(h("button", { type: "button", class: "primary", id: "claim", text: ch.status === "queued" ? t("claim") : t("assign.me"),
      onclick: () => claim(ch.id) }));
  }
  if (ch.type === "support") {
    // narrower windows show the visitor panel on demand, over the conversation (style.css)
    const shown = !!document.querySelector(".chat.show-visitor");
    buttons.push(h("button", { type: "button", id: "visitor-toggle", class: "visitor-toggle", text: t("visitor"),
      "aria-controls": "visitor-panel", "aria-expanded": String(shown), onclick: () => showVisitorPanel(!shown) }));
  }
  if (ch.type === "support" && ch.status === "open" && (ch.assignee === me().id || isAdmin())) {
    const transfer = h("button", { type: "button", id: "transfer", text: t("transfer"), "aria-haspopup": "dialog",
      onclick: () => openTransfer(ch, transfer, () => { renderLists(); renderConversationHeader(); }) });
    buttons.push(transfer);
  }
  if (ch.status !== "closed" && (isAdmin() || (ch.type === "support" && ch.assignee === me().id))) {
    buttons.push(h("button", { type: "button", id: "close-channel", text: t("close"), onclick: () => closeChannel(ch.id) }));
  }
  actions.replaceChildren(...buttons);
  const writable = mayWrite(ch);
  // who may not reply may still leave a private note: "Write a private note" opens the box, as a
  // note only. Asked for, not shown at once: someone who clicks Claim and starts typing must not
  // send their reply as a note while the claim is on its way
  const notesOnly = !writable && mayNote(ch);
  if (notesOnly && !S.current.noting) {
    buttons.push(h("button", { type: "button", id: "write-note", text: t("note.write"), onclick: () => {
      S.current.noting = true;
      renderConversationHeader();
      $("#composer").focus();
    } }));
    actions.replaceChildren(...buttons);
  }
  const composer = $(".composer");
  composer.hidden = !writable && !(notesOnly && S.current.noting);
  const asNote = $("#as-note");
  if (asNote) {
    if (notesOnly) asNote.checked = true;
    else if (asNote.disabled) asNote.checked = false; // a reply again: back to replies
    asNote.disabled = notesOnly;
    composer.classList.toggle("noting", asNote.checked);
    $("#composer").placeholder = asNote.checked ? t("note.placeholder") : t("reply.placeholder");
  }
  const ro = $("#readonly");
  ro.hidden = writable;
  ro.textContent = (ch.status === "closed" ? t("ro.closed") : ch.status === "queued" ? t("ro.queued") : t("ro.other"))
    + (notesOnly ? " " + t("ro.notes") : "");
}

export function addToConversation(messages) {
  const cur = S.current;
  if (!cur) return;
  let changed = false;
  for (const m of messages) {
    const known = cur.byId.get(m.id);
    if (known) { if (m.deleted && !known.deleted) { Object.assign(known, m); changed = true; } continue; }
    cur.byId.set(m.id, m);
    cur.messages.push(m);
    cur.outbox = cur.outbox.filter((o) => o.client_id !== m.client_id);
    changed = true;
  }
  if (changed) {
    cur.messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    renderMessages();
  }
}

export function renderMessages(keepScroll = false) {
  const list = $("#messages");
  const scroller = $("#message-log");
  if (!list || !S.current) return;
  const cur = S.current;
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const prevHeight = scroller.scrollHeight;
  const myLast = [...cur.messages].reverse().find((m) => m.sender.id === me().id);
  const seenMine = myLast && [...cur.seen.values()].some((id) => id >= myLast.id);
  const items = cur.messages.map((m) => {
    const mine = m.sender.id === me().id;
    return h("li", { class: `msg ${mine ? "mine" : "theirs"} role-${m.sender.role}${m.deleted ? " deleted" : ""}${m.internal ? " note" : ""}`,
      "data-id": m.id },
    // a note says so in words, not only by its colour (WCAG 1.4.1)
    m.internal ? h("span", { class: "note-tag", text: t("note") }) : null,
    h("span", { class: "from", text: mine ? t("you") : senderName(m.sender) }),
    h("span", { class: "text", text: m.deleted ? t("deleted") : m.text }),
    ...(m.attachments || []).map((a) => h("button", { type: "button", class: "link att",
      "aria-label": t("conv.download", { name: a.name || t("conv.attachment") }), text: `📎 ${a.name || a.key}`,
      onclick: () => openAttachment(m, a) })),
    h("span", { class: "time", text: fmtClock(m.created_at) }),
    mine && myLast && m.id === myLast.id && seenMine ? h("span", { class: "seen", text: t("seen") }) : null,
    !m.deleted && (mine || hasScope("chat:moderate")) ?
      h("button", { type: "button", class: "link del", "aria-label": t("delete.message"), text: t("delete"),
        onclick: () => deleteMessage(m) }) : null);
  });
  for (const o of cur.outbox) {
    items.push(h("li", { class: `msg mine pending${o.internal ? " note" : ""}`, "data-client-id": o.client_id },
      h("span", { class: "from", text: t("you") }), h("span", { class: "text", text: o.text }),
      h("span", { class: "time", text: o.failed ? t("not.sent", { why: o.failed }) : t("sending") })));
  }
  list.replaceChildren(...items);
  $("#older").hidden = !cur.more;
  if (keepScroll) scroller.scrollTop = scroller.scrollHeight - prevHeight;
  else if (nearBottom || items.length) scroller.scrollTop = scroller.scrollHeight;
}

async function loadOlder() {
  const cur = S.current;
  if (!cur || !cur.messages.length) return;
  try {
    const data = await chat.request("channel.history", { channel_id: cur.id, before: cur.messages[0].id, limit: 50 });
    if (S.current !== cur) return;
    cur.more = !!data.cursor;
    const list = $("#message-log");
    const prev = list.scrollHeight;
    for (const m of data.messages || []) { if (!cur.byId.has(m.id)) { cur.byId.set(m.id, m); cur.messages.push(m); } }
    rememberNames(data.messages || []);
    cur.messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    renderMessages();
    list.scrollTop = list.scrollHeight - prev;
  } catch (err) {
    toast(t("conv.older_failed", { why: err.message || err.code }), "error");
  }
}

function sendMessage(text, internal = false) {
  const cur = S.current;
  cur.outbox.push({ client_id: uuid(), text, internal });
  renderMessages();
  flushOutbox();
}

async function flushOutbox() {
  const cur = S.current;
  if (!cur || cur.flushing || !chat.ws || chat.ws.readyState !== 1) return;
  cur.flushing = true;
  try {
    let o;
    // one at a time, in order; written meanwhile joins the queue
    while (S.current === cur && (o = cur.outbox.find((x) => !x.failed))) {
      try {
        const params = { channel_id: cur.id, text: o.text, client_id: o.client_id };
        if (o.internal) params.internal = true;
        const { message } = await chat.request("message.send", params);
        cur.outbox = cur.outbox.filter((x) => x !== o);
        addToConversation([message]);
        renderMessages();
      } catch (err) {
        if (err.code === "disconnected" || err.code === "timeout") break; // sent again on reconnect
        o.failed = err.message || err.code;
        renderMessages();
      }
    }
  } finally {
    cur.flushing = false;
  }
}

let lastTyping = 0;
function sendTyping() {
  const cur = S.current;
  if (!cur || Date.now() - lastTyping < TYPING_EVERY_MS || !mayWrite(S.channels.get(cur.id))) return;
  lastTyping = Date.now();
  chat.request("typing", { channel_id: cur.id }).catch(() => {});
}

let typingTimer = null;
export function showTyping(user) {
  const el = $("#typing");
  if (!el) return;
  el.textContent = t("conv.typing", { name: senderName(user) });
  el.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}
export function hideTyping() {
  const el = $("#typing");
  if (el) el.hidden = true;
}

export function markRead() {
  const cur = S.current;
  if (!cur) return;
  S.unread.delete(cur.id);
  const ch = S.channels.get(cur.id);
  if (!ch || ch.status === "closed" || !ch.members.includes(me().id)) return;
  const last = [...cur.messages].reverse().find((m) => m.sender.id !== me().id);
  if (!last || cur.readSent === last.id) return;
  cur.readSent = last.id;
  chat.request("read", { channel_id: cur.id, message_id: last.id }).catch(() => { cur.readSent = null; });
}

async function claim(id) {
  S.claiming = id; // my own claim is no "assigned to you" notification
  try {
    const { channel } = await chat.request("channel.assign", { channel_id: id });
    S.channels.set(id, channel);
    S.tab = "mine";
    renderLists();
    renderConversationHeader();
    markRead();
    $("#composer") && $("#composer").focus();
  } catch (err) {
    toast(err.code === "conflict" ? t("conv.claimed_first") : t("conv.claim_failed", { why: err.message || err.code }), "error");
  }
  S.claiming = null;
}

async function closeChannel(id) {
  if (!confirm(t("close.confirm"))) return;
  try {
    const { channel } = await chat.request("channel.close", { channel_id: id });
    S.channels.set(id, channel);
    renderLists();
    renderConversationHeader();
    toast(t("closed"));
    // the Close button is gone: the focus goes to what now says the conversation is closed
    $("#readonly") && $("#readonly").focus();
  } catch (err) {
    toast(t("conv.close_failed", { why: err.message || err.code }), "error");
  }
}

async function deleteMessage(m) {
  if (!confirm(t("delete.confirm"))) return;
  try {
    await chat.request("message.delete", { channel_id: m.channel_id, message_id: m.id });
    // its Delete button is gone with it: the focus stays in the conversation, on the messages
    $("#message-log") && $("#message-log").focus();
  } catch (err) {
    toast(t("cr.delete_failed", { why: err.message || err.code }), "error");
  }
}

/** The names canned replies fill in: the open conversation's visitor, and me. */
function cannedNames() {
  const ch = S.current && S.channels.get(S.current.id);
  const visitor = ch && ch.visitor ? (ch.visitor_profile && ch.visitor_profile.name) || nameOf(ch.visitor) : "";
  return { visitorName: visitor, operatorName: me().name };
}

/** The conversation's labels: each removable, and a field to add one (channel.label). */
function renderLabels(ch) {
  const box = $("#conv-labels");
  if (!box) return;
  if (ch.type !== "support") { box.replaceChildren(); return; }
  const labels = ch.labels || [];
  const input = h("input", { id: "label-add", maxlength: "40", "aria-label": t("label.add"), placeholder: t("label.add") });
  box.replaceChildren(
    h("ul", { class: "label-list", "aria-label": t("labels") }, labels.map((l) => h("li", { class: "label" },
      h("span", { text: l }),
      h("button", { type: "button", class: "link", "aria-label": t("label.remove", { label: l }), text: "×",
        onclick: () => changeLabels(ch, { remove: [l] }, "#label-add") })))),
    h("form", { class: "label-form", onsubmit: (e) => {
      e.preventDefault();
      const l = input.value.trim();
      if (l) changeLabels(ch, { add: [l] }, "#label-add");
    } }, input, h("button", { type: "submit", text: t("label.added") })));
}

async function changeLabels(ch, change, focusAfter) {
  try {
    const { channel } = await chat.request("channel.label", { channel_id: ch.id, ...change });
    if (channel) S.channels.set(channel.id, channel);
    renderLists();
    renderConversationHeader();
    const again = $(focusAfter);
    if (again) again.focus();
  } catch (err) {
    toast(`${t("labels")}: ${err.message || err.code}`, "error");
  }
}

/** The visitor panel over the conversation (narrow windows): focus into it, Escape or its
 * Close button takes it away and the focus back to the Visitor button. */
function showVisitorPanel(on) {
  const chatView = $(".chat");
  if (!chatView) return;
  chatView.classList.toggle("show-visitor", on);
  const toggle = $("#visitor-toggle");
  if (toggle) toggle.setAttribute("aria-expanded", String(on));
  const heading = $("#visitor-title");
  if (on && heading) { heading.tabIndex = -1; heading.focus(); } else if (!on && toggle) toggle.focus();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && $(".chat.show-visitor")) showVisitorPanel(false);
});
