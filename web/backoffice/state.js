// What the page knows: the channels, their last messages and unread counts, people's names, the
// staff directory; who is signed in, and how channels are named and sorted into the lists.

import { auth, call } from "./api.js";
import { t } from "./i18n.js";

export const S = {
  channels: new Map(), // id -> channel
  last: new Map(), // id -> last message
  unread: new Map(), // id -> count
  names: new Map(), // user id -> name
  operators: null, // admin: [{id,email,name,role,...}]
  staff: null, // GET /staff: [{id,name,role}] - who may be put in a team channel
  watched: new Set(),
  tab: "mine",
  claiming: null, // the channel id this page is claiming (its channel.updated is no notification)
  found: null, // the inbox filter's answer: {ids: [channel ids], cursor, filter} (the "Found" tab)
  current: null, // {id, messages: [], cursor, more, seen: Map(user -> message id), outbox: []}
};

export const me = () => auth.tokens && auth.tokens.user;
export const isAdmin = () => me() && me().role === "admin";
export const hasScope = (s) => auth.me && auth.me.scopes && auth.me.scopes.includes(s);

/** The name the server gives a visitor who has none ("Visitor": data in English, not a word of
 * the page): never shown as such, the page's own words stand in for it (nameOf). */
export const UNNAMED = "Visitor";

export function nameOf(id) {
  if (!id) return "";
  if (me() && id === me().id) return t("me");
  if (S.names.has(id)) return S.names.get(id);
  return id.startsWith("anon-") ? t("visitor.short", { id: id.slice(5, 11) }) : id;
}

/** A message sender's (or a typing user's) name as the page shows it. */
export const senderName = (who) => (who.name && who.name !== UNNAMED ? who.name : nameOf(who.id));

export function channelTitle(ch) {
  if (ch.type === "team") return ch.name || t("team.channel");
  const visitor = ch.visitor ? nameOf(ch.visitor) : t("visitor");
  return ch.subject ? `${visitor} - ${ch.subject}` : visitor;
}

export function inList(ch, tab) {
  if (ch.type !== "support") return false;
  if (tab === "mine") return ch.status === "open" && ch.assignee === me().id;
  if (tab === "queued") return ch.status === "queued";
  if (tab === "all") return ch.status === "open";
  if (tab === "found") return !!S.found && S.found.ids.includes(ch.id);
  return false;
}

export function rememberNames(messages) {
  for (const m of messages) if (m.sender && m.sender.name && m.sender.name !== UNNAMED) S.names.set(m.sender.id, m.sender.name);
}

/** Colleagues by name (GET /staff), for the team channel form and for names in conversations. */
export async function loadStaff() {
  const data = await call("GET", "/staff");
  S.staff = data.staff || [];
  for (const s of S.staff) S.names.set(s.id, s.name);
  return S.staff;
}
