// The inbox and the team view: the lists with a conversation beside them, kept live by the chat's
// events (new and changed channels, messages, typing, read receipts, a revoked session).

import { auth, call } from "../api.js";
import { notice } from "../desk.js";
import { h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { chat } from "../socket.js";
import { S, channelTitle, inList, isAdmin, me, nameOf, rememberNames, senderName } from "../state.js";
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
    toast(t("inbox.load_failed", { why: err.message || err.code }), "error");
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
    if (!before && ch.status === "queued") {
      toast(t("inbox.waiting"));
      notice("queued", { body: channelTitle(ch), channelId: ch.id });
    } else if (ch.assignee === me().id && (!before || before.assignee !== me().id) && ch.status === "open" &&
        !(S.claiming && S.claiming === ch.id)) {
      notice("assigned", { body: channelTitle(ch), channelId: ch.id }); // a transfer or the admin's pick
    }
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
    if (name === "message.new" && m.sender.id !== me().id && ch && ch.assignee === me().id && document.hidden) {
      notice("message", { title: t("notify.message", { name: senderName(m.sender) }),
        body: m.text.slice(0, 140), channelId: m.channel_id });
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
      signedOut(t("inbox.revoked"));
    } else {
      toast(t("inbox.withdrawn"), "error");
      call("GET", "/auth/me").then((m) => { auth.me = m; }).catch(() => {});
    }
  }
}

export function renderChatView(main, view, id) {
  const tabs = view === "team" ? [["team", t("team.channels")]]
    : [["mine", t("tab.mine")], ["queued", t("tab.queued")], ...(isAdmin() ? [["all", t("tab.all")]] : []),
      ...(S.found ? [["found", t("tab.found")]] : [])];
  if (view === "team") S.tab = "team";
  else if (S.tab === "team" || (S.tab === "all" && !isAdmin()) || (S.tab === "found" && !S.found)) S.tab = "mine";
  // the tabs pattern: arrow keys move between the tabs, Tab goes on to the list (one tab stop)
  const pickTab = (key) => { S.tab = key; renderLists(); };
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": t("lists"), onkeydown: (e) => {
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
  const side = h("section", { class: "lists", "aria-label": view === "team" ? t("team.channels") : t("inbox") },
    view === "team" ? null : findForm(main, view, id),
    tablist,
    view === "team" ? teamCreateForm() : null,
    // the tabpanel role is on a wrapper: on the <ul> it would orphan every <li> (axe: listitem)
    h("div", { id: "channel-panel", class: "channel-panel", role: "tabpanel", "aria-labelledby": `tab-${S.tab}` },
      h("ul", { id: "channel-list", class: "channels" })));
  const pane = h("section", { id: "conversation", class: "conversation", "aria-label": t("conversation") },
    h("p", { class: "empty muted", text: view === "team" ? t("team.pick_or_create") : t("pick") }));
  // the visitor panel beside the conversation (views/visitor.js); empty for team channels
  const aside = h("aside", { id: "visitor-panel", class: "visitor-panel", "aria-labelledby": "visitor-title", hidden: true });
  // small screens show the list or, once one is picked, the conversation (style.css)
  main.replaceChildren(h("h1", { class: "sr-only", id: "view-title", tabindex: "-1",
    text: view === "team" ? t("team.channels") : t("inbox") }),
  h("div", { class: "chat" + (id ? " picked" : "") }, side, pane, aside));
  renderLists();
  if (id) openChannel(id);
  else S.current = null;
}

/** The inbox filter: by status, assignee, label or visitor (channel.query's filter, paged); the
 * answer is the "Found" tab. Closed conversations are found this way, and open to read. */
function findForm(main, view, id) {
  const by = h("select", { id: "find-by", "aria-label": t("find.by") },
    ["status", "assignee", "label", "visitor"].map((k) => h("option", { value: k, text: t(`find.${k}`),
      selected: S.found && S.found.filter && k in S.found.filter })));
  const value = h("input", { id: "find-value", "aria-label": t("find.value"), list: "find-hints",
    value: S.found && S.found.filter ? Object.values(S.found.filter)[0] : "" });
  const hints = h("datalist", { id: "find-hints" });
  const fillHints = () => {
    const opts = by.value === "status" ? ["closed", "open", "queued"]
      : by.value === "assignee" ? (S.staff || []).map((s) => s.id) : [];
    hints.replaceChildren(...opts.map((o) => h("option", { value: o, label: by.value === "assignee" ? nameOf(o) : o })));
  };
  by.addEventListener("change", fillHints);
  fillHints();
  const more = h("button", { type: "button", class: "link", text: t("find.more"), hidden: !(S.found && S.found.cursor),
    onclick: () => run(true) });
  async function run(next = false) {
    const filter = { [by.value]: value.value.trim() };
    if (!filter[by.value]) return;
    const params = { filter, limit: 50 };
    if (next && S.found && S.found.cursor) params.cursor = S.found.cursor;
    try {
      const data = await chat.request("channel.query", params);
      for (const ch of data.channels || []) S.channels.set(ch.id, ch);
      const ids = (data.channels || []).map((ch) => ch.id);
      S.found = { filter, cursor: data.cursor || null, ids: next && S.found ? [...S.found.ids, ...ids] : ids };
      S.tab = "found";
      renderChatView(main, view, id);
      toast(t("find.results", { n: S.found.ids.length }));
      document.getElementById("tab-found").focus();
    } catch (err) {
      toast(`${t("find")}: ${err.message || err.code}`, "error");
    }
  }
  return h("details", { class: "find", open: !!S.found },
    h("summary", { text: t("find") }),
    h("form", { class: "find-form", onsubmit: (e) => { e.preventDefault(); run(false); } },
      by, value, hints, h("button", { type: "submit", text: t("find.go") })), more);
}
