// The channel lists beside a conversation (the inbox's tabs, the team channels), and watching a
// channel: what both the inbox and the team view build on.

import { paintTitle } from "../desk.js";
import { $, fmtClock, h } from "../dom.js";
import { t } from "../i18n.js";
import { chat } from "../socket.js";
import { S, channelTitle, inList, me, rememberNames, senderName } from "../state.js";

export async function watch(id) {
  const data = await chat.request("channel.watch", { channel_id: id });
  S.watched.add(id);
  S.channels.set(id, data.channel);
  const messages = data.messages || [];
  rememberNames(messages);
  if (messages.length) S.last.set(id, messages[messages.length - 1]);
  renderLists();
  return data;
}

export function bumpUnread(id) {
  S.unread.set(id, (S.unread.get(id) || 0) + 1);
}

export function renderLists() {
  paintTitle();
  const list = $("#channel-list");
  if (!list || !me()) return;
  const tab = S.tab;
  const all = [...S.channels.values()];
  const pickFor = (k) => all.filter((ch) => (k === "team" ? ch.type === "team" && ch.status !== "closed" : inList(ch, k)));
  for (const el of document.querySelectorAll("[data-count]")) {
    const n = pickFor(el.dataset.count).length;
    el.textContent = n ? ` ${n}` : "";
  }
  for (const el of document.querySelectorAll("[data-tab]")) {
    el.setAttribute("aria-selected", String(el.dataset.tab === tab));
    el.tabIndex = el.dataset.tab === tab ? 0 : -1;
  }
  const panel = $("#channel-panel");
  if (panel) panel.setAttribute("aria-labelledby", `tab-${tab}`);
  const items = pickFor(tab).sort((a, b) => (b.last_message_at || 0) - (a.last_message_at || 0));
  if (!items.length) {
    list.replaceChildren(h("li", { class: "muted empty", text: tab === "queued" ? t("nobody") : t("nothing") }));
    return;
  }
  const base = tab === "team" ? "#/team/" : "#/inbox/";
  list.replaceChildren(...items.map((ch) => {
    const last = S.last.get(ch.id);
    const unread = S.unread.get(ch.id) || 0;
    return h("li", { class: "channel" + (S.current && S.current.id === ch.id ? " active" : "") + (unread ? " unread" : ""),
      "data-channel": ch.id },
    h("a", { href: base + ch.id, "aria-current": S.current && S.current.id === ch.id ? "true" : false },
      h("span", { class: "title", text: channelTitle(ch) }),
      h("span", { class: `status s-${ch.status}`, text: t(`status.${ch.status}`) }),
      unread ? h("span", { class: "unread-dot", "aria-label": t("unread.n", { n: unread }), text: String(unread) }) : null,
      h("span", { class: "preview", text: last ? `${senderName(last.sender)}: ${last.deleted ? t("deleted.short") : last.text}` : "" }),
      h("span", { class: "when", text: ch.last_message_at ? fmtClock(ch.last_message_at) : "" }),
      ch.labels && ch.labels.length ? h("span", { class: "chips" }, ch.labels.map((l) => h("span", { class: "chip", text: l })))
        : null));
  }));
}
