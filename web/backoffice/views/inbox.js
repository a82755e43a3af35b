// The inbox and the team view: the lists with a conversation beside them, kept live by the chat's
// events (new and changed channels, messages, typing, read receipts, a revoked session).

import { auth, call } from "../api.js";
import { h, toast } from "../dom.js";
import { chat } from "../socket.js";
import { S, inList, isAdmin, me, rememberNames } from "../state.js";
import { bumpUnread, renderLists, watch } from "./channels.js";
import { addToConversation, hideTyping, markRead, openChannel, renderConversationHeader, renderMessages,
  showTyping } from "./conversation.js";
import { signedOut } from "./signin.js";
import { teamCreateForm } from "./team.js";

const MAX_WATCHED = 60;

export async function syncInbox() {
  const queries = [
    chat.request("channel.query", { filter: { member: "me" }, limit: 100 }),
    chat.request("channel.query", { filter: { status: "queued" }, limit: 100 }),
  ];
  if (isAdmin()) queries.push(chat.request("channel.query", { filter: { status: "open" }, limit: 100 }));
  S.watched.clear();
  try {
    const pages = await Promise.all(queries);
    for (const p of pages) for (const ch of p.channels || []) S.channels.set(ch.id, ch);
  } catch (err) {
    toast("Could not load the inbox: " + (err.message || err.code), "error");
  }
  renderLists();
  // watch what we must hear about live: our channels, the queue, team channels
  const toWatch = [...S.channels.values()]
    .filter((ch) => ch.status !== "closed" && (inList(ch, "mine") || inList(ch, "queued") || ch.type === "team" ||
      (S.current && S.current.id === ch.id)))
    .slice(0, MAX_WATCHED);
  await Promise.all(toWatch.map((ch) => watch(ch.id).catch(() => {})));
  if (S.current) openChannel(S.current.id, true);
}

export function onChatEvent(name, data) {
  if (name === "channel.updated" && data.channel) {
    const ch = data.channel;
    const before = S.channels.get(ch.id);
    S.channels.set(ch.id, ch);
    if (!S.watched.has(ch.id) && ch.status !== "closed" && (inList(ch, "mine") || inList(ch, "queued") ||
        ch.type === "team")) {
      watch(ch.id).catch(() => {});
    }
    if (!before && ch.status === "queued") toast("A new conversation is waiting.");
    renderLists();
    if (S.current && S.current.id === ch.id) { renderConversationHeader(); markRead(); }
  } else if (name === "message.new" || name === "message.deleted") {
    const m = data.message;
    rememberNames([m]);
    const ch = S.channels.get(m.channel_id);
    if (ch && name === "message.new") {
      ch.last_message_at = Math.max(ch.last_message_at || 0, m.created_at);
      const last = S.last.get(m.channel_id);
      if (!last || last.id <= m.id) S.last.set(m.channel_id, m);
    }
    if (S.current && S.current.id === m.channel_id) {
      addToConversation([m]);
      if (name === "message.new" && m.sender.id !== me().id) {
        hideTyping();
        if (!document.hidden) markRead(); else bumpUnread(m.channel_id);
      }
    } else if (name === "message.new" && m.sender.id !== me().id) {
      bumpUnread(m.channel_id);
    }
    renderLists();
  } else if (name === "typing") {
    if (S.current && S.current.id === data.channel_id && data.user && data.user.id !== me().id) showTyping(data.user);
  } else if (name === "read") {
    if (S.current && S.current.id === data.channel_id && data.user && data.user.id !== me().id) {
      S.current.seen.set(data.user.id, data.message_id);
      renderMessages();
    }
  } else if (name === "auth.revoked") {
    if (data.kind === "session" || data.kind === "user") {
      signedOut("You were signed out: your session was revoked.");
    } else {
      toast("Some of your permissions were withdrawn.", "error");
      call("GET", "/auth/me").then((m) => { auth.me = m; }).catch(() => {});
    }
  }
}

export function renderChatView(main, view, id) {
  const tabs = view === "team" ? [["team", "Team channels"]]
    : [["mine", "Assigned to me"], ["queued", "Queued"], ...(isAdmin() ? [["all", "All open"]] : [])];
  if (view === "team") S.tab = "team";
  else if (S.tab === "team" || (S.tab === "all" && !isAdmin())) S.tab = "mine";
  // the tabs pattern: arrow keys move between the tabs, Tab goes on to the list (one tab stop)
  const pickTab = (key) => { S.tab = key; renderLists(); };
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Conversation lists", onkeydown: (e) => {
    const keys = tabs.map(([key]) => key);
    const at = keys.indexOf(S.tab);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: keys.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    pickTab(keys[(to + keys.length) % keys.length]);
    document.getElementById(`tab-${S.tab}`).focus();
  } },
  tabs.map(([key, label]) => h("button", { type: "button", role: "tab", id: `tab-${key}`, "data-tab": key,
    "aria-selected": String(S.tab === key), tabindex: S.tab === key ? "0" : "-1", "aria-controls": "channel-panel",
    onclick: () => pickTab(key) }, label, h("span", { class: "count", "data-count": key }))));
  const side = h("section", { class: "lists", "aria-label": view === "team" ? "Team channels" : "Inbox" },
    tablist,
    view === "team" ? teamCreateForm() : null,
    // the tabpanel role is on a wrapper: on the <ul> it would orphan every <li> (axe: listitem)
    h("div", { id: "channel-panel", class: "channel-panel", role: "tabpanel", "aria-labelledby": `tab-${S.tab}` },
      h("ul", { id: "channel-list", class: "channels" })));
  const pane = h("section", { id: "conversation", class: "conversation", "aria-label": "Conversation" },
    h("p", { class: "empty muted", text: view === "team" ? "Pick or create a team channel." :
      "Pick a conversation from the list." }));
  // small screens show the list or, once one is picked, the conversation (style.css)
  main.replaceChildren(h("h1", { class: "sr-only", id: "view-title", tabindex: "-1",
    text: view === "team" ? "Team channels" : "Inbox" }),
  h("div", { class: "chat" + (id ? " picked" : "") }, side, pane));
  renderLists();
  if (id) openChannel(id);
  else S.current = null;
}
