// Switchboard back office: plain static files, no build step. Talks to the HTTP API (sign-in,
// admin, the staff directory) and the WebSocket API (the chat), and to S3 for attachments.
//
// Where the APIs are: /switchboard-config.json at the site's root when the host serves one
// ({"api","ws","tenant"}); else, on a loopback page only, ?api=&ws= on its URL; else the
// `switchboard dev` defaults beside this page (:3000 and :3001). See loadConfig().

const $ = (sel, root = document) => root.querySelector(sel);
const REFRESH_MARGIN_MS = 60_000;
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const MAX_WATCHED = 60;

// -- tiny DOM helper --------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k === "text") n.textContent = v;
    else if (k === "class") n.className = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "value") n.value = v;
    else if (v === true) n.setAttribute(k, "");
    else n.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

/** An attachment, downloaded: attachment.open's 5-minute link is fetched here and saved under
 * the file's name, so this page never navigates away (an S3 error page would replace it). */
async function openAttachment(m, a) {
  try {
    const { url, name } = await chat.request("attachment.open", { channel_id: m.channel_id, message_id: m.id,
      key: a.key });
    if (!/^https?:\/\//.test(url)) throw new Error("not a download link");
    const r = await fetch(url, { credentials: "omit" });
    if (!r.ok) throw new Error(`the download failed (${r.status})`);
    const href = URL.createObjectURL(await r.blob());
    const link = document.createElement("a");
    link.href = href;
    link.download = name || "attachment";
    link.click();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
  } catch (err) {
    toast("Could not open the attachment: " + (err.message || err.code), "error");
  }
}

function toast(text, kind = "info") {
  const t = $("#toast");
  t.textContent = text;
  t.className = "show " + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ""; }, 4000);
}

const fmtTime = (ms) => new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
const fmtClock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + "-" + Math.random().toString(16).slice(2));

function claims(jwt) {
  try {
    let part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// -- configuration ----------------------------------------------------------------------------
// Where the APIs are. The /switchboard-config.json served next to the page decides whenever there
// is one: a link must not be able to point the back office - and the password typed into it, and
// the chat token it connects with - at another server. ?api=&ws= count only where no config is
// served and the page comes from this machine (development). ?tenant= only fills in the form.
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

async function loadConfig() {
  const q = new URLSearchParams(location.search);
  let saved = {};
  try { saved = JSON.parse(sessionStorage.getItem("sb.config") || "{}"); } catch { saved = {}; }
  let file = null;
  try {
    const r = await fetch("/switchboard-config.json", { cache: "no-store" });
    if (r.ok) file = await r.json();
  } catch { /* none served: development defaults */ }
  const host = location.hostname || "127.0.0.1";
  const linked = !file && LOOPBACK.has(host) ? q : new URLSearchParams();
  file = file || {};
  const cfg = {
    api: (linked.get("api") || file.api || `${location.protocol}//${host}:3000`).replace(/\/+$/, ""),
    ws: (linked.get("ws") || file.ws || `${location.protocol === "https:" ? "wss" : "ws"}://${host}:3001`)
      .replace(/\/+$/, ""),
    tenant: q.get("tenant") || saved.tenant || file.tenant || "demo",
  };
  sessionStorage.setItem("sb.config", JSON.stringify({ tenant: cfg.tenant }));
  return cfg;
}

let CFG = null;

// -- HTTP API and tokens ------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `request failed (${status})`);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.body = body;
  }
}

// One tab, one session. A duplicated tab (or one opened by window.open) starts with a copy of this
// tab's sessionStorage: the same refresh token. Two tabs rotating one refresh token is what the API
// treats as theft - the later refresh is `token_reused`, the session ends in both tabs, and the audit
// log shows a false alarm. So a tab holds a Web Lock named after its session while it uses it, and a
// tab that finds the lock held (the tab it was copied from is still open) leaves the copy alone and
// asks for a sign-in of its own. The wait covers a reload: the old page's lock goes with it.
const SESSION_LOCK_WAIT_MS = 3000;
let heldSession = null; // {sid, release}

function holdSession(sid) {
  if (!sid || !(navigator.locks && navigator.locks.request)) return Promise.resolve(true);
  if (heldSession && heldSession.sid === sid) return Promise.resolve(true);
  releaseSession();
  return new Promise((resolve) => {
    let release;
    const held = new Promise((r) => { release = r; });
    navigator.locks.request(`switchboard.backoffice.session.${sid}`,
      { signal: AbortSignal.timeout(SESSION_LOCK_WAIT_MS) }, () => {
        heldSession = { sid, release };
        resolve(true);
        return held; // held until released (sign-out) or the page goes
      }).catch(() => resolve(false)); // still held elsewhere when the wait ended
  });
}

function releaseSession() {
  if (heldSession) heldSession.release();
  heldSession = null;
}

const auth = {
  tokens: null, // {access_token, chat_token, refresh_token, access_exp, chat_exp, user, tenant}
  me: null, // GET /auth/me
  timer: null,
  refreshing: null,

  load() {
    try { this.tokens = JSON.parse(sessionStorage.getItem("sb.tokens") || "null"); } catch { this.tokens = null; }
    return this.tokens;
  },
  adopt(bundle, tenant) {
    const at = claims(bundle.access_token), ct = claims(bundle.chat_token);
    this.tokens = {
      access_token: bundle.access_token, chat_token: bundle.chat_token, refresh_token: bundle.refresh_token,
      // lifetimes, not the tokens' absolute exp: this machine's clock may be wrong
      access_exp: Date.now() + (bundle.expires_in || (at.exp && at.iat ? at.exp - at.iat : 900)) * 1000,
      chat_exp: Date.now() + (ct.exp && ct.iat ? ct.exp - ct.iat : 3600) * 1000, user: bundle.user,
      tenant: tenant || (this.tokens && this.tokens.tenant) || at.tid,
    };
    sessionStorage.setItem("sb.tokens", JSON.stringify(this.tokens));
    holdSession(at.sid); // a new sign-in's session: nobody else holds it
    this.schedule();
  },
  clear() {
    clearTimeout(this.timer);
    this.tokens = null;
    this.me = null;
    sessionStorage.removeItem("sb.tokens");
    releaseSession();
  },
  schedule() {
    clearTimeout(this.timer);
    if (!this.tokens) return;
    const due = Math.min(this.tokens.access_exp, this.tokens.chat_exp) - REFRESH_MARGIN_MS - Date.now();
    this.timer = setTimeout(() => this.refresh().catch(() => {}), Math.max(1000, due));
  },
  async refresh() {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const bundle = await raw("POST", "/auth/refresh", { refresh_token: this.tokens.refresh_token });
        this.adopt(bundle);
      } catch (err) {
        if (err.status === 401) signedOut("Your session has ended. Please sign in again.");
        throw err;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  },
  async valid() {
    if (!this.tokens) throw new ApiError(401, { code: "invalid_token" });
    if (this.tokens.access_exp - Date.now() < REFRESH_MARGIN_MS) await this.refresh();
    return this.tokens;
  },
};

async function raw(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(CFG.api + path, {
      method, headers, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: "unavailable", detail: "The Switchboard API cannot be reached." });
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/** An authenticated call; a 401 is retried once after a refresh, then signs the page out. */
async function call(method, path, body) {
  const t = await auth.valid();
  try {
    return await raw(method, path, body, t.access_token);
  } catch (err) {
    if (err.status !== 401 || !auth.tokens) throw err;
    if (err.code === "invalid_token") {
      await auth.refresh();
      try {
        return await raw(method, path, body, auth.tokens.access_token);
      } catch (again) {
        if (again.status === 401) signedOut("Your session has ended. Please sign in again.");
        throw again;
      }
    }
    signedOut(err.code === "session_revoked" ? "You were signed out." : "Your session has ended. Please sign in again.");
    throw err;
  }
}

// -- the WebSocket ------------------------------------------------------------------------------
const chat = {
  ws: null,
  wanted: false,
  attempts: 0,
  timer: null,
  rid: 0,
  pending: new Map(),
  onEvent: null,
  onOpen: null,

  connect() {
    this.wanted = true;
    if (this.ws && this.ws.readyState <= 1) return;
    clearTimeout(this.timer);
    (async () => {
      let t = await auth.valid();
      if (t.chat_exp - Date.now() < 5 * 60_000 || this.attempts > 2) {
        await auth.refresh();
        t = auth.tokens;
      }
      if (!this.wanted || !auth.tokens) return;
      const url = new URL(CFG.ws); // keeps the stage path (wss://…/live) as is
      url.searchParams.set("token", t.chat_token);
      const ws = new WebSocket(url.href);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.attempts = 0;
        setConnection(true);
        if (this.onOpen) this.onOpen();
      };
      ws.onmessage = (ev) => {
        let frame;
        try { frame = JSON.parse(ev.data); } catch { return; }
        if (frame.type === "reply" && this.pending.has(frame.rid)) {
          const p = this.pending.get(frame.rid);
          this.pending.delete(frame.rid);
          clearTimeout(p.timer);
          if (frame.ok) p.resolve(frame.data || {}); else p.reject(frame.error || { code: "internal" });
        } else if (frame.type === "event" && this.onEvent) {
          this.onEvent(frame.event, frame.data || {});
        }
      };
      ws.onclose = () => {
        if (this.ws === ws) this.ws = null;
        for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject({ code: "disconnected" }); }
        this.pending.clear();
        if (!this.wanted) return;
        setConnection(false);
        // closed by the server: maybe revoked. Ask the API; a 401 signs the page out.
        call("GET", "/auth/me").then(() => this.retry(), (err) => { if (auth.tokens) this.retry(err); });
        void opened;
      };
    })().catch(() => { if (this.wanted && auth.tokens) this.retry(); });
  },
  retry() {
    clearTimeout(this.timer);
    const delay = Math.min(30_000, 500 * 2 ** this.attempts);
    this.attempts += 1;
    this.timer = setTimeout(() => this.connect(), delay / 2 + Math.random() * delay / 2);
  },
  close() {
    this.wanted = false;
    clearTimeout(this.timer);
    if (this.ws) { try { this.ws.close(1000); } catch { /* gone */ } }
    this.ws = null;
  },
  request(action, params = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== 1) { reject({ code: "disconnected", message: "not connected" }); return; }
      const rid = `b${++this.rid}`;
      const timer = setTimeout(() => {
        if (this.pending.delete(rid)) reject({ code: "timeout", message: "no answer" });
      }, 10_000);
      this.pending.set(rid, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ action, rid, ...params }));
    });
  },
};

function setConnection(up) {
  const el = $("#conn");
  if (!el) return;
  el.textContent = up ? "Live" : "Reconnecting…";
  el.className = up ? "conn up" : "conn down";
}

// -- application state ---------------------------------------------------------------------------
const S = {
  channels: new Map(), // id -> channel
  last: new Map(), // id -> last message
  unread: new Map(), // id -> count
  names: new Map(), // user id -> name
  operators: null, // admin: [{id,email,name,role,...}]
  staff: null, // GET /staff: [{id,name,role}] - who may be put in a team channel
  watched: new Set(),
  tab: "mine",
  current: null, // {id, messages: [], cursor, more, seen: Map(user -> message id), outbox: []}
};

const me = () => auth.tokens && auth.tokens.user;
const isAdmin = () => me() && me().role === "admin";
const hasScope = (s) => auth.me && auth.me.scopes && auth.me.scopes.includes(s);

function nameOf(id) {
  if (!id) return "";
  if (me() && id === me().id) return "me";
  if (S.names.has(id)) return S.names.get(id);
  return id.startsWith("anon-") ? "Visitor " + id.slice(5, 11) : id;
}

function channelTitle(ch) {
  if (ch.type === "team") return ch.name || "Team channel";
  let visitor = ch.visitor ? nameOf(ch.visitor) : "Visitor";
  if (ch.visitor && ch.visitor.startsWith("anon-") && visitor === "Visitor") visitor = `Visitor ${ch.visitor.slice(5, 11)}`;
  return ch.subject ? `${visitor} - ${ch.subject}` : visitor;
}

function inList(ch, tab) {
  if (ch.type !== "support") return false;
  if (tab === "mine") return ch.status === "open" && ch.assignee === me().id;
  if (tab === "queued") return ch.status === "queued";
  if (tab === "all") return ch.status === "open";
  return false;
}

function rememberNames(messages) {
  for (const m of messages) if (m.sender && m.sender.name) S.names.set(m.sender.id, m.sender.name);
}

// -- routing ---------------------------------------------------------------------------------------
function route() {
  const [view, id] = location.hash.replace(/^#\/?/, "").split("/");
  return { view: view || "inbox", id: id || null };
}

window.addEventListener("hashchange", () => { if (auth.tokens) renderApp(); });

// -- sign-in --------------------------------------------------------------------------------------
function renderSignIn(message) {
  const app = $("#app");
  app.removeAttribute("aria-busy");
  const err = h("p", { class: "error", role: "alert", id: "signin-error", text: message || "" });
  const tenant = h("input", { id: "tenant", name: "tenant", required: true, value: CFG.tenant, autocomplete: "organization" });
  const email = h("input", { id: "email", name: "email", type: "email", required: true, autocomplete: "username" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
    autocomplete: "current-password" });
  const submit = h("button", { type: "submit", class: "primary", text: "Sign in" });
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.textContent = "";
    try {
      const bundle = await raw("POST", "/auth/internal", { tenant: tenant.value.trim(), email: email.value.trim(),
        password: password.value, device_token: localStorage.getItem("sb.device") || undefined });
      await signedIn(bundle, tenant.value.trim());
    } catch (ex) {
      if (ex.code === "mfa_required" && ex.body && ex.body.mfa_token) {
        renderMfa(ex.body.mfa_token, tenant.value.trim());
        return;
      }
      err.textContent = ex.code === "invalid_credentials" ? "Wrong e-mail or password." : ex.message;
      submit.disabled = false;
      password.focus();
    }
  } },
  h("h1", { id: "signin-title", text: "Switchboard back office" }),
  h("p", { class: "muted", text: "Sign in as an operator or admin." }),
  h("label", { for: "tenant", text: "Tenant" }), tenant,
  h("label", { for: "email", text: "E-mail" }), email,
  h("label", { for: "password", text: "Password" }), password,
  err, submit);
  app.replaceChildren(h("main", { id: "main", class: "centered" }, form));
  email.focus();
}

function renderMfa(mfaToken, tenant) {
  const err = h("p", { class: "error", role: "alert" });
  const code = h("input", { id: "code", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", required: true });
  const submit = h("button", { type: "submit", class: "primary", text: "Verify" });
  const form = h("form", { class: "card signin", "aria-labelledby": "mfa-title", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.textContent = "";
    try {
      const bundle = await raw("POST", "/auth/mfa", { mfa_token: mfaToken, code: code.value.trim() });
      await signedIn(bundle, tenant);
    } catch (ex) {
      err.textContent = ex.code === "invalid_mfa" ? "That code is not valid. Try the next one." : ex.message;
      if (ex.code === "invalid_token" || ex.code === "validation_error") {
        err.textContent += " Start again.";
      }
      submit.disabled = false;
      code.select();
    }
  } },
  h("h1", { id: "mfa-title", text: "Two-step verification" }),
  h("p", { class: "muted", text: "Enter the 6-digit code from your authenticator app." }),
  h("label", { for: "code", text: "Code" }), code, err, submit,
  h("button", { type: "button", class: "link", text: "Back", onclick: () => renderSignIn() }));
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, form));
  code.focus();
}

async function signedIn(bundle, tenant) {
  // this device is now one the account signed in from: strangers cannot refuse its next sign-in
  if (bundle.device_token) localStorage.setItem("sb.device", bundle.device_token);
  auth.adopt(bundle, tenant);
  CFG.tenant = tenant;
  sessionStorage.setItem("sb.config", JSON.stringify({ tenant }));
  await start();
}

async function start() {
  try {
    auth.me = await call("GET", "/auth/me");
  } catch {
    if (!auth.tokens) return; // signed out already
  }
  if (me() && me().role === "visitor") {
    signedOut("The back office is for operators and admins.");
    return;
  }
  S.channels.clear(); S.last.clear(); S.unread.clear(); S.watched.clear(); S.current = null;
  if (!location.hash) location.hash = "#/inbox";
  renderApp();
  chat.onEvent = onChatEvent;
  chat.onOpen = syncInbox;
  chat.connect();
  if (isAdmin()) loadOperators().catch(() => {});
  loadStaff().catch(() => {});
}

function signedOut(message) {
  if (!auth.tokens && !chat.wanted) return;
  chat.close();
  auth.clear();
  S.current = null;
  history.replaceState(null, "", location.pathname + location.search);
  renderSignIn(message);
}

async function signOut(everywhere) {
  try {
    await call("POST", "/auth/revoke", everywhere ? { kind: "user" } : { kind: "session" });
  } catch { /* signed out locally anyway */ }
  signedOut(everywhere ? "Signed out on every device." : "Signed out.");
}

// -- the shell -----------------------------------------------------------------------------------
function renderApp() {
  const { view, id } = route();
  const user = me();
  const nav = [
    ["inbox", "Inbox"], ["team", "Team"], ["security", "Security"],
    ...(isAdmin() ? [["operators", "Operators"], ["sessions", "Sessions"], ["events", "Audit log"]]
      : [["sessions", "Sessions"]]),
  ];
  const app = $("#app");
  app.removeAttribute("aria-busy");
  app.replaceChildren(
    h("header", { class: "top" },
      h("span", { class: "brand", text: "Switchboard" }),
      h("span", { class: "tenant", text: auth.tokens.tenant || "" }),
      h("span", { id: "conn", class: "conn down", role: "status", text: "Connecting…" }),
      h("span", { class: "spacer" }),
      h("span", { class: "who", id: "who", text: `${user.name} (${user.role})` }),
      h("button", { type: "button", text: "Sign out", onclick: () => signOut(false) })),
    h("div", { class: "body" },
      h("nav", { "aria-label": "Sections" }, h("ul", {}, nav.map(([key, label]) =>
        h("li", {}, h("a", { href: `#/${key}`, "aria-current": key === view ? "page" : false, text: label }))))),
      h("main", { id: "main", tabindex: "-1" })));
  setConnection(!!(chat.ws && chat.ws.readyState === 1));
  const main = $("#main");
  if (view === "inbox" || view === "team") renderChatView(main, view, id);
  else if (view === "operators" && isAdmin()) renderOperators(main);
  else if (view === "sessions") renderSessions(main);
  else if (view === "events" && isAdmin()) renderEvents(main);
  else if (view === "security") renderSecurity(main);
  else renderChatView(main, "inbox", null);
}

// -- inbox and conversations -----------------------------------------------------------------------
async function syncInbox() {
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

async function watch(id) {
  const data = await chat.request("channel.watch", { channel_id: id });
  S.watched.add(id);
  S.channels.set(id, data.channel);
  const messages = data.messages || [];
  rememberNames(messages);
  if (messages.length) S.last.set(id, messages[messages.length - 1]);
  renderLists();
  return data;
}

function onChatEvent(name, data) {
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

function bumpUnread(id) {
  S.unread.set(id, (S.unread.get(id) || 0) + 1);
}

function renderChatView(main, view, id) {
  const tabs = view === "team" ? [["team", "Team channels"]]
    : [["mine", "Assigned to me"], ["queued", "Queued"], ...(isAdmin() ? [["all", "All open"]] : [])];
  if (view === "team") S.tab = "team";
  else if (S.tab === "team" || (S.tab === "all" && !isAdmin())) S.tab = "mine";
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Conversation lists" },
    tabs.map(([key, label]) => h("button", { type: "button", role: "tab", id: `tab-${key}`, "data-tab": key,
      "aria-selected": String(S.tab === key), "aria-controls": "channel-list",
      onclick: () => { S.tab = key; renderLists(); } }, label, h("span", { class: "count", "data-count": key }))));
  const side = h("section", { class: "lists", "aria-label": view === "team" ? "Team channels" : "Inbox" },
    tablist,
    view === "team" ? teamCreateForm() : null,
    h("ul", { id: "channel-list", class: "channels", role: "tabpanel", "aria-labelledby": `tab-${S.tab}` }));
  const pane = h("section", { id: "conversation", class: "conversation", "aria-label": "Conversation" },
    h("p", { class: "empty muted", text: view === "team" ? "Pick or create a team channel." :
      "Pick a conversation from the list." }));
  main.replaceChildren(h("div", { class: "chat" }, side, pane));
  renderLists();
  if (id) openChannel(id);
  else S.current = null;
}

function teamCreateForm() {
  const name = h("input", { id: "team-name", required: true, maxlength: "100", placeholder: "Channel name" });
  const pick = h("div", { class: "members", role: "group", "aria-label": "Members" });
  const manual = h("input", { id: "team-members", placeholder: "Member ids, comma separated",
    "aria-label": "Member ids, comma separated" });
  const fill = () => {
    // a refill (the directory read again) keeps what is ticked, and what was typed in the ids
    // box goes into the picker's place only while there is no picker
    const ticked = new Set([...pick.querySelectorAll("input:checked")].map((b) => b.value));
    pick.replaceChildren();
    if (S.staff) {
      for (const s of S.staff.filter((o) => o.id !== me().id)) {
        const box = h("input", { type: "checkbox", value: s.id, id: `m-${s.id}` });
        box.checked = ticked.has(s.id) || manual.value.split(",").map((v) => v.trim()).includes(s.id);
        pick.append(h("label", { for: `m-${s.id}`, class: "check" }, box, ` ${s.name} (${s.role})`));
      }
      manual.value = "";
      manual.hidden = true;
    }
  };
  fill();
  const details = h("details", {}, h("summary", { text: "New team channel" }), name, pick, manual,
    h("button", { type: "submit", text: "Create" }));
  // colleagues added since the last look are pickable too: read again when the form opens
  details.addEventListener("toggle", () => { if (details.open) loadStaff().then(fill).catch(() => {}); });
  const form = h("form", { class: "team-create", onsubmit: async (e) => {
    e.preventDefault();
    const members = [...pick.querySelectorAll("input:checked")].map((b) => b.value)
      .concat(manual.hidden ? [] : manual.value.split(",").map((s) => s.trim()).filter(Boolean));
    if (!members.length) { toast("Pick at least one member.", "error"); return; }
    try {
      const { channel } = await chat.request("channel.create", { type: "team", name: name.value.trim(), members });
      S.channels.set(channel.id, channel);
      await watch(channel.id).catch(() => {});
      name.value = "";
      location.hash = `#/team/${channel.id}`;
    } catch (err) {
      toast("Could not create the channel: " + (err.message || err.code), "error");
    }
  } },
  details);
  return form;
}

function renderLists() {
  const list = $("#channel-list");
  if (!list || !me()) return;
  const tab = S.tab;
  const all = [...S.channels.values()];
  const pickFor = (t) => all.filter((ch) => (t === "team" ? ch.type === "team" && ch.status !== "closed" : inList(ch, t)));
  for (const el of document.querySelectorAll("[data-count]")) {
    const n = pickFor(el.dataset.count).length;
    el.textContent = n ? ` ${n}` : "";
  }
  for (const el of document.querySelectorAll("[data-tab]")) el.setAttribute("aria-selected", String(el.dataset.tab === tab));
  list.setAttribute("aria-labelledby", `tab-${tab}`);
  const items = pickFor(tab).sort((a, b) => (b.last_message_at || 0) - (a.last_message_at || 0));
  if (!items.length) {
    list.replaceChildren(h("li", { class: "muted empty", text: tab === "queued" ? "Nobody is waiting." : "Nothing here yet." }));
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
      h("span", { class: `status s-${ch.status}`, text: ch.status }),
      unread ? h("span", { class: "unread-dot", "aria-label": `${unread} unread`, text: String(unread) }) : null,
      h("span", { class: "preview", text: last ? `${last.sender.name}: ${last.deleted ? "(deleted)" : last.text}` : "" }),
      h("span", { class: "when", text: ch.last_message_at ? fmtClock(ch.last_message_at) : "" })));
  }));
}

async function openChannel(id, resync = false) {
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
      pane.replaceChildren(h("p", { class: "error", text: err.code === "not_found" ? "This conversation is not visible to you." :
        "Could not open the conversation: " + (err.message || err.code) }));
    }
  }
}

function buildConversation(pane) {
  const input = h("textarea", { id: "composer", rows: "2", maxlength: "4000", placeholder: "Write a reply…",
    "aria-label": "Reply",
    onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); } },
    oninput: () => sendTyping() });
  const form = h("form", { class: "composer", onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendMessage(text);
  } }, input, h("button", { type: "submit", class: "primary", text: "Send" }));
  pane.replaceChildren(
    h("header", { class: "conv-head" },
      h("div", { class: "conv-title" }, h("h2", { id: "conv-title" }), h("p", { id: "conv-sub", class: "muted" })),
      h("div", { class: "conv-actions", id: "conv-actions" })),
    h("div", { class: "log-wrap" },
      h("button", { type: "button", id: "older", class: "link", hidden: true, text: "Load older messages",
        onclick: loadOlder }),
      h("ol", { id: "messages", class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages",
        tabindex: "0" })),
    h("div", { id: "typing", class: "typing", role: "status", "aria-live": "polite", hidden: true }),
    h("p", { id: "readonly", class: "muted readonly", hidden: true }),
    form);
  renderConversationHeader();
}

function mayWrite(ch) {
  if (!ch || ch.status === "closed") return false;
  if (ch.type === "team") return ch.members.includes(me().id);
  return ch.assignee === me().id && ch.status === "open";
}

function renderConversationHeader() {
  if (!S.current) return;
  const ch = S.channels.get(S.current.id);
  if (!ch || !$("#conv-title")) return;
  $("#conv-title").textContent = channelTitle(ch);
  const sub = ch.type === "team" ? `Team channel · ${ch.members.length} members`
    : `${ch.status}${ch.assignee ? " · assigned to " + nameOf(ch.assignee) : " · not assigned"} · started ${fmtTime(ch.created_at)}`;
  $("#conv-sub").textContent = sub;
  const actions = $("#conv-actions");
  const buttons = [];
  if (ch.type === "support" && ch.status !== "closed" && ch.assignee !== me().id &&
      (ch.status === "queued" || isAdmin())) {
    buttons.push(h("button", { type: "button", class: "primary", id: "claim", text: ch.status === "queued" ? "Claim" : "Assign to me",
      onclick: () => claim(ch.id) }));
  }
  if (ch.status !== "closed" && (isAdmin() || (ch.type === "support" && ch.assignee === me().id))) {
    buttons.push(h("button", { type: "button", id: "close-channel", text: "Close", onclick: () => closeChannel(ch.id) }));
  }
  actions.replaceChildren(...buttons);
  const writable = mayWrite(ch);
  $(".composer").hidden = !writable;
  const ro = $("#readonly");
  ro.hidden = writable;
  ro.textContent = ch.status === "closed" ? "This conversation is closed." :
    ch.status === "queued" ? "Claim this conversation to reply." : "Only the assigned operator can reply.";
}

function addToConversation(messages) {
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

function renderMessages(keepScroll = false) {
  const list = $("#messages");
  if (!list || !S.current) return;
  const cur = S.current;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const prevHeight = list.scrollHeight;
  const myLast = [...cur.messages].reverse().find((m) => m.sender.id === me().id);
  const seenMine = myLast && [...cur.seen.values()].some((id) => id >= myLast.id);
  const items = cur.messages.map((m) => {
    const mine = m.sender.id === me().id;
    return h("li", { class: `msg ${mine ? "mine" : "theirs"} role-${m.sender.role}${m.deleted ? " deleted" : ""}`,
      "data-id": m.id },
    h("span", { class: "from", text: mine ? "You" : m.sender.name || nameOf(m.sender.id) }),
    h("span", { class: "text", text: m.deleted ? "(message deleted)" : m.text }),
    ...(m.attachments || []).map((a) => h("button", { type: "button", class: "link att",
      "aria-label": `Download ${a.name || "attachment"}`, text: `📎 ${a.name || a.key}`,
      onclick: () => openAttachment(m, a) })),
    h("span", { class: "time", text: fmtClock(m.created_at) }),
    mine && myLast && m.id === myLast.id && seenMine ? h("span", { class: "seen", text: "Seen" }) : null,
    !m.deleted && (mine || hasScope("chat:moderate")) ?
      h("button", { type: "button", class: "link del", "aria-label": "Delete message", text: "Delete",
        onclick: () => deleteMessage(m) }) : null);
  });
  for (const o of cur.outbox) {
    items.push(h("li", { class: "msg mine pending", "data-client-id": o.client_id },
      h("span", { class: "from", text: "You" }), h("span", { class: "text", text: o.text }),
      h("span", { class: "time", text: o.failed ? `Not sent: ${o.failed}` : "Sending…" })));
  }
  list.replaceChildren(...items);
  $("#older").hidden = !cur.more;
  if (keepScroll) list.scrollTop = list.scrollHeight - prevHeight;
  else if (nearBottom || items.length) list.scrollTop = list.scrollHeight;
}

async function loadOlder() {
  const cur = S.current;
  if (!cur || !cur.messages.length) return;
  try {
    const data = await chat.request("channel.history", { channel_id: cur.id, before: cur.messages[0].id, limit: 50 });
    if (S.current !== cur) return;
    cur.more = !!data.cursor;
    const list = $("#messages");
    const prev = list.scrollHeight;
    for (const m of data.messages || []) { if (!cur.byId.has(m.id)) { cur.byId.set(m.id, m); cur.messages.push(m); } }
    rememberNames(data.messages || []);
    cur.messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    renderMessages();
    list.scrollTop = list.scrollHeight - prev;
  } catch (err) {
    toast("Could not load older messages: " + (err.message || err.code), "error");
  }
}

function sendMessage(text) {
  const cur = S.current;
  cur.outbox.push({ client_id: uuid(), text });
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
        const { message } = await chat.request("message.send", { channel_id: cur.id, text: o.text, client_id: o.client_id });
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
function showTyping(user) {
  const el = $("#typing");
  if (!el) return;
  el.textContent = `${user.name || nameOf(user.id)} is typing…`;
  el.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}
function hideTyping() {
  const el = $("#typing");
  if (el) el.hidden = true;
}

function markRead() {
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

document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });

async function claim(id) {
  try {
    const { channel } = await chat.request("channel.assign", { channel_id: id });
    S.channels.set(id, channel);
    S.tab = "mine";
    renderLists();
    renderConversationHeader();
    markRead();
    $("#composer") && $("#composer").focus();
  } catch (err) {
    toast(err.code === "conflict" ? "Someone else claimed it first." : "Could not claim: " + (err.message || err.code), "error");
  }
}

async function closeChannel(id) {
  if (!confirm("Close this conversation? The visitor can no longer write in it.")) return;
  try {
    const { channel } = await chat.request("channel.close", { channel_id: id });
    S.channels.set(id, channel);
    renderLists();
    renderConversationHeader();
    toast("Conversation closed.");
  } catch (err) {
    toast("Could not close: " + (err.message || err.code), "error");
  }
}

async function deleteMessage(m) {
  if (!confirm("Delete this message?")) return;
  try {
    await chat.request("message.delete", { channel_id: m.channel_id, message_id: m.id });
  } catch (err) {
    toast("Could not delete: " + (err.message || err.code), "error");
  }
}

/** Colleagues by name (GET /staff), for the team channel form and for names in conversations. */
async function loadStaff() {
  const data = await call("GET", "/staff");
  S.staff = data.staff || [];
  for (const s of S.staff) S.names.set(s.id, s.name);
  return S.staff;
}

// -- admin: operators ------------------------------------------------------------------------------
async function loadOperators() {
  const data = await call("GET", "/admin/operators");
  S.operators = data.operators || [];
  for (const op of S.operators) S.names.set(op.id, op.name || op.email);
  return S.operators;
}

function renderOperators(main) {
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const table = h("table", { class: "grid", "aria-label": "Operators" });
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
    try {
      await call("PATCH", `/admin/operators/${encodeURIComponent(op.id)}`, body);
      toast(done);
      await refresh();
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
        h("thead", {}, h("tr", {}, ["Name", "E-mail", "Role", "MFA", "Status", "Added", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ops.map((op) => {
          const self = op.id === me().id;
          const roleSel = h("select", { "aria-label": `Role of ${op.email}`, disabled: self,
            onchange: () => patch(op, { role: roleSel.value }, `${op.email} is now ${roleSel.value}.`) },
          ["operator", "admin"].map((r) => h("option", { value: r, text: r, selected: r === op.role })));
          return h("tr", { "data-operator": op.id, "data-email": op.email },
            h("td", { text: op.name }), h("td", { text: op.email }), h("td", {}, roleSel),
            h("td", { text: op.mfa_enabled ? "on" : "off" }),
            h("td", { text: op.blocked ? "blocked" : "active" }),
            h("td", { text: op.created_at ? fmtTime(op.created_at * 1000) : "" }),
            h("td", {}, h("div", { class: "actions" },
              self ? h("span", { class: "muted", text: "you" }) : [
                h("button", { type: "button", class: "sessions", text: "Sessions", "aria-label": `Sessions of ${op.email}`,
                  "aria-controls": "op-sessions", "aria-expanded": String(!!shown && shown.id === op.id),
                  onclick: () => (shown && shown.id === op.id ? hideSessions(true) : showSessions(op)) }),
                h("button", { type: "button", text: op.blocked ? "Unblock" : "Block",
                  "aria-label": `${op.blocked ? "Unblock" : "Block"} ${op.email}`,
                  onclick: () => patch(op, { blocked: !op.blocked }, `${op.email} ${op.blocked ? "unblocked" : "blocked"}.`) }),
                op.mfa_enabled ? h("button", { type: "button", text: "Reset MFA",
                  "aria-label": `Reset two-step verification of ${op.email}`,
                  onclick: () => {
                    if (!confirm(`Turn off two-step verification for ${op.email}? They are signed out and sign in `
                      + "again with their password alone, then set up a new authenticator.")) return;
                    patch(op, { mfa_enabled: false }, `Two-step verification of ${op.email} was reset.`);
                  } }) : null,
                h("button", { type: "button", text: "Sign out everywhere", "aria-label": `Sign out ${op.email} everywhere`,
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
                    } catch (err) { toast("Could not remove: " + err.message, "error"); }
                  } })])));
        })));
    } catch (err) {
      status.textContent = err.status === 404 ? "Operator management is not available on this server." :
        "Could not load operators: " + err.message;
    }
  }

  main.replaceChildren(h("section", { class: "page" }, h("h1", { text: "Operators" }), status, table, panel, form));
  refresh();
}

// -- sessions ----------------------------------------------------------------------------------------
const sessionCount = (n) => (n ? `${n} live session${n === 1 ? "" : "s"}` : "No live sessions.");

/** Fills a sessions table (yours, or an operator's for an admin); ``action(s)`` makes the last cell. */
function fillSessions(table, sessions, action) {
  table.hidden = !sessions.length;
  table.replaceChildren(
    h("thead", {}, h("tr", {}, ["Device", "Method", "Signed in", "Last used", "Expires", ""].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, sessions.map((s) => h("tr", { "data-session": s.id },
      h("td", { class: "device", text: (s.device || "unknown device") + (s.current ? " (this one)" : "") }),
      h("td", { text: s.method || "" }),
      h("td", { text: s.created_at ? fmtTime(s.created_at * 1000) : "" }),
      h("td", { text: s.last_used_at ? fmtTime(s.last_used_at * 1000) : "" }),
      h("td", { text: s.expires_at ? fmtTime(s.expires_at * 1000) : "" }),
      h("td", {}, action(s))))));
}

function renderSessions(main) {
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const table = h("table", { class: "grid", "aria-label": "Your sessions" });
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
            refresh();
          } catch (err) { toast("Could not revoke: " + err.message, "error"); }
        } }));
    } catch (err) {
      status.textContent = "Could not load sessions: " + err.message;
    }
  }
  main.replaceChildren(h("section", { class: "page" },
    h("h1", { text: "Sessions" }),
    h("p", { text: "Where you are signed in. Revoking a session signs that device out at once." }),
    status, table,
    h("p", {}, h("button", { type: "button", class: "danger", id: "signout-everywhere", text: "Sign out everywhere",
      onclick: () => { if (confirm("Sign out of every device, this one included?")) signOut(true); } }))));
  refresh();
}

// -- audit events ------------------------------------------------------------------------------------
function renderEvents(main) {
  const status = h("p", { class: "muted", role: "status", text: "Loading…" });
  const body = h("tbody");
  const more = h("button", { type: "button", text: "Load more", hidden: true, onclick: () => load() });
  let cursor = null;
  async function load() {
    try {
      const q = new URLSearchParams({ limit: "50" });
      if (cursor) q.set("cursor", cursor);
      const data = await call("GET", `/admin/events?${q}`);
      for (const e of data.events || []) {
        const at = typeof e.at === "number" ? (e.at > 1e12 ? e.at : e.at * 1000) : Date.parse(e.at);
        body.append(h("tr", {},
          h("td", { text: fmtTime(at) }), h("td", { text: e.kind }),
          h("td", { text: e.actor ? S.names.get(e.actor) || e.actor : "", title: e.actor || false }),
          h("td", { text: e.subject ? S.names.get(e.subject) || e.subject : "", title: e.subject || false }),
          h("td", { text: e.session_id || "" }),
          h("td", { class: "detail", text: e.detail ? JSON.stringify(e.detail) : "" })));
      }
      cursor = data.cursor || null;
      more.hidden = !cursor;
      status.textContent = body.children.length ? "" : "No events yet.";
    } catch (err) {
      status.textContent = err.status === 404 ? "The audit log is not available on this server." :
        "Could not load events: " + err.message;
    }
  }
  main.replaceChildren(h("section", { class: "page" }, h("h1", { text: "Audit log" }), status,
    h("table", { class: "grid", "aria-label": "Audit events" },
      h("thead", {}, h("tr", {}, ["When", "Event", "Actor", "Subject", "Session", "Detail"].map((t) => h("th", { scope: "col", text: t })))),
      body), more));
  load();
}

// -- security: TOTP ------------------------------------------------------------------------------------
function renderSecurity(main) {
  const area = h("div", { class: "card" });
  const mfa = auth.me && auth.me.user && auth.me.user.mfa_enabled;
  const start = h("button", { type: "button", class: "primary", id: "totp-enroll", text: "Set up two-step verification",
    onclick: async () => {
      try {
        const e = await call("POST", "/auth/totp/enroll");
        const code = h("input", { id: "totp-code", inputmode: "numeric", maxlength: "6", pattern: "[0-9]{6}", required: true });
        const msg = h("p", { role: "status" });
        area.replaceChildren(
          h("p", { text: "Scan this code with your authenticator app, or enter the secret by hand." }),
          e.qr_svg ? h("img", { class: "qr", alt: "QR code for your authenticator app",
            src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(e.qr_svg) }) : null,
          h("p", {}, "Secret: ", h("code", { id: "totp-secret", text: e.secret })),
          h("form", { onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              const on = await call("POST", "/auth/totp/confirm", { code: code.value.trim() });
              const ended = on && on.revoked_sessions > 0
                ? ` Your other sessions (${on.revoked_sessions}) were signed out.` : "";
              msg.textContent = "Two-step verification is on." + ended;
              toast("Two-step verification is on.");
            } catch (err) { msg.textContent = err.code === "invalid_mfa" ? "That code is not valid." : err.message; }
          } }, h("label", { for: "totp-code", text: "Code from the app" }), code,
          h("button", { type: "submit", class: "primary", text: "Turn on" })), msg);
        code.focus();
      } catch (err) {
        toast(err.status === 404 ? "Two-step verification is not available on this server." : err.message, "error");
      }
    } });
  const code = h("input", { id: "totp-off-code", inputmode: "numeric", maxlength: "6", "aria-label": "Current code" });
  const off = h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await call("POST", "/auth/totp/disable", { code: code.value.trim() });
      toast("Two-step verification is off.");
    } catch (err) { toast(err.code === "invalid_mfa" ? "That code is not valid." : err.message, "error"); }
  } }, h("span", { text: "Turn it off: " }), code, h("button", { type: "submit", text: "Turn off" }));
  area.replaceChildren(h("p", { text: mfa === true ? "Two-step verification is on." :
    "Protect your account with a code from an authenticator app at every sign-in." }), start, off);
  const cur = h("input", { id: "pw-current", type: "password", required: true, autocomplete: "current-password" });
  const next = h("input", { id: "pw-new", type: "password", required: true, minlength: "8", autocomplete: "new-password" });
  const pwForm = h("form", { class: "card", "aria-labelledby": "pw-title", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await call("POST", "/auth/password", { current_password: cur.value, new_password: next.value });
      pwForm.reset();
      toast("Password changed.");
    } catch (err) {
      toast(err.code === "invalid_credentials" ? "The current password is wrong." : err.message, "error");
    }
  } }, h("h2", { id: "pw-title", text: "Change password" }),
  h("div", { class: "fields" }, h("label", {}, "Current password", cur), h("label", {}, "New password", next)),
  h("button", { type: "submit", text: "Change password" }));
  main.replaceChildren(h("section", { class: "page" }, h("h1", { text: "Security" }),
    h("h2", { text: "Two-step verification" }), area, h("p"), pwForm));
}

// -- invitations ---------------------------------------------------------------------------------------
function renderInvite(token) {
  const err = h("p", { class: "error", role: "alert" });
  const pw = h("input", { id: "new-password", type: "password", minlength: "8", required: true, autocomplete: "new-password" });
  const pw2 = h("input", { id: "new-password-2", type: "password", minlength: "8", required: true, autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "primary", text: "Set password and sign in" });
  const form = h("form", { class: "card signin", "aria-labelledby": "invite-title", onsubmit: async (e) => {
    e.preventDefault();
    if (pw.value !== pw2.value) { err.textContent = "The two passwords differ."; return; }
    submit.disabled = true;
    try {
      const bundle = await raw("POST", "/auth/invite", { invite_token: token, password: pw.value });
      history.replaceState(null, "", location.pathname + location.search);
      await signedIn(bundle, claims(bundle.access_token).tid || CFG.tenant);
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 404
        ? "This invitation is not valid any more. Ask your admin for a new one." : ex.message;
      submit.disabled = false;
    }
  } },
  h("h1", { id: "invite-title", text: "Welcome to the team" }),
  h("p", { class: "muted", text: "Choose a password for your back office account." }),
  h("label", { for: "new-password", text: "New password" }), pw,
  h("label", { for: "new-password-2", text: "Repeat it" }), pw2, err, submit);
  $("#app").removeAttribute("aria-busy");
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, form));
  pw.focus();
}

// -- boot ----------------------------------------------------------------------------------------------
(async function boot() {
  CFG = await loadConfig();
  const invite = location.hash.match(/^#\/invite\/([^/?#]+)/);
  if (invite) {
    renderInvite(decodeURIComponent(invite[1]));
  } else if (auth.load()) {
    if (await holdSession(claims(auth.tokens.access_token).sid)) {
      auth.schedule();
      await start();
    } else { // a copy of another open tab's session: that tab keeps it (see holdSession)
      auth.clear();
      renderSignIn("You are signed in in another tab. Sign in here too to use this tab.");
    }
  } else {
    renderSignIn();
  }
})();

// exposed for debugging and tests
window.switchboardBackoffice = { S, auth, chat };
