/*! Switchboard chat widget. Readable source: widget.js; widget.min.js is made from it (npm run build:widget) */
/* One file, no dependencies.
 *
 *   <script src="https://static.example.com/widget.js" data-tenant="acme"
 *           data-api="https://api.example.com" data-ws="wss://chat.example.com" async></script>
 *
 * Page API (window.Switchboard):
 *   identify({id, name, email, hash})  sign the visitor in as a known user (hash from your backend)
 *   identify({token})                  ... or with your site's own JWT, from an issuer the tenant trusts
 *                                      (POST /auth/exchange; docs/integrations.md)
 *   open() / close() / toggle()        show or hide the chat panel
 *   logout()                           end the visitor's session here (revoked server-side)
 *   on(event, fn) / off(event, fn)     events: "message" (message), "unread" (count),
 *                                      "open", "close", "ready", "status" (channel status)
 *
 * Calls made before the script has loaded can be queued as window.Switchboard.q = [["identify", {...}], ...]
 * (see docs/web.md for the two-line stub). Everything renders inside a Shadow DOM, so the host page's
 * CSS neither leaks in nor is touched.
 */
(function () {
  "use strict";

  var existing = window.Switchboard;
  if (existing && existing.__switchboard) return; // loaded twice: keep the first

  var script = document.currentScript ||
    document.querySelector('script[data-tenant][src*="widget"]');
  if (!script || !script.dataset.tenant) {
    console.error("Switchboard: the widget's <script> tag needs data-tenant, data-api and data-ws");
    return;
  }
  var CFG = {
    tenant: script.dataset.tenant,
    api: trimSlash(script.dataset.api || ""),
    ws: trimSlash(script.dataset.ws || ""),
  };
  var STORE_KEY = "switchboard:" + CFG.tenant + ":" + CFG.api;
  var REFRESH_MARGIN_MS = 60 * 1000; // renew tokens this long before they expire
  var TYPING_EVERY_MS = 3000; // send "typing" at most this often
  var TYPING_SHOWN_MS = 5000; // show someone else's typing this long after their last "typing"
  var REQUEST_TIMEOUT_MS = 10000;
  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 30000;

  // -- strings: every word the visitor reads comes from this catalogue ------------------------
  // The language: the script tag's data-locale, else the page's <html lang>, else the browser's;
  // the first whose language (the part before "-") the catalogue has, else English. A tenant's
  // own texts (title, greeting, away message, pre-chat labels) are shown as the tenant wrote them.
  // docs/web.md lists every key ("The widget's strings"); a new language is one more entry here.
  var STRINGS = {
    en: {
      title: "Chat with us", greeting: "Hi! How can we help?", placeholder: "Write a message…", message: "Message",
      attach: "Attach a file", send: "Send", send_label: "Send message", end: "End chat", close: "Close chat",
      open: "Open chat", unread_one: "Open chat, 1 unread message", unread_many: "Open chat, {n} unread messages",
      log: "Conversation", reconnecting: "Reconnecting…", new_conversation: "New conversation",
      has_ended: "This conversation has ended.", keep: "Keep chatting", end_yes: "Yes, end chat",
      end_question: "End this conversation?", support: "Support", deleted: "Message deleted",
      download: "Download {name}", attachment: "attachment", seen: "Seen", not_sent: "Not sent.", retry: "Retry",
      sending: "Sending…", reply_soon: "We usually reply in a few minutes", waiting: "Waiting for an operator…",
      chatting: "You're chatting with {name}", joined: "An operator has joined", ended: "Conversation ended",
      typing: "{name} is typing…",
      signed_out: "You were signed out. Write again to start a new conversation.",
      end_failed: "Could not end the conversation. Try again.", open_failed: "The file could not be opened: {error}",
      upload_failed: "The file was not sent: {error}",
      away: "We're away right now. Leave a message and we'll answer as soon as we're back.",
      email: "Your email", email_why: "We'll send our reply there.", optional: "optional", required: "required",
      start: "Start chat", prechat_intro: "Before we start, tell us a little about you.", choose: "Choose…",
      error_required: "{field}: this field is required.", error_email: "{field}: enter a valid email address.",
      errors: "Please check: {fields}", rate_question: "How was this conversation?", rate_score: "{n} out of 5",
      rate_comment: "Comment (optional)", rate_send: "Send rating", rate_thanks: "Thank you for your rating.",
      rate_pick: "Pick a rating from 1 to 5.", rate_failed: "Your rating was not sent. Try again.",
      resume_failed: "This link has expired or was already used. Write to us again and we'll pick it up.",
      mail_at: "We'll email replies to {email}", mail_none: "Want replies by email too?", mail_change: "Change email",
      mail_add: "Add email", mail_save: "Save email", cancel: "Cancel",
    },
    es: {
      title: "Chatea con nosotros", greeting: "¡Hola! ¿En qué podemos ayudarte?", placeholder: "Escribe un mensaje…",
      message: "Mensaje", attach: "Adjuntar un archivo", send: "Enviar", send_label: "Enviar mensaje",
      end: "Terminar chat", close: "Cerrar chat", open: "Abrir chat", unread_one: "Abrir chat, 1 mensaje sin leer",
      unread_many: "Abrir chat, {n} mensajes sin leer", log: "Conversación", reconnecting: "Reconectando…",
      new_conversation: "Nueva conversación", has_ended: "Esta conversación ha terminado.",
      keep: "Seguir chateando", end_yes: "Sí, terminar", end_question: "¿Terminar esta conversación?",
      support: "Soporte", deleted: "Mensaje eliminado", download: "Descargar {name}", attachment: "archivo adjunto",
      seen: "Visto", not_sent: "No enviado.", retry: "Reintentar", sending: "Enviando…",
      reply_soon: "Solemos responder en pocos minutos", waiting: "Esperando a un agente…",
      chatting: "Estás hablando con {name}", joined: "Un agente se ha unido", ended: "Conversación terminada",
      typing: "{name} está escribiendo…",
      signed_out: "Se cerró tu sesión. Escribe de nuevo para empezar una nueva conversación.",
      end_failed: "No se pudo terminar la conversación. Inténtalo de nuevo.",
      open_failed: "No se pudo abrir el archivo: {error}", upload_failed: "No se envió el archivo: {error}",
      away: "Ahora no estamos disponibles. Deja un mensaje y te responderemos en cuanto volvamos.",
      email: "Tu correo electrónico", email_why: "Te enviaremos la respuesta allí.", optional: "opcional",
      required: "obligatorio", start: "Empezar el chat", prechat_intro: "Antes de empezar, cuéntanos un poco sobre ti.",
      choose: "Elige…", error_required: "{field}: este campo es obligatorio.",
      error_email: "{field}: escribe un correo electrónico válido.", errors: "Revisa: {fields}",
      rate_question: "¿Qué te pareció esta conversación?", rate_score: "{n} de 5",
      rate_comment: "Comentario (opcional)", rate_send: "Enviar valoración",
      rate_thanks: "Gracias por tu valoración.", rate_pick: "Elige una valoración del 1 al 5.",
      rate_failed: "No se envió tu valoración. Inténtalo de nuevo.",
      resume_failed: "Este enlace ha caducado o ya se usó. Escríbenos de nuevo y lo retomaremos.",
      mail_at: "Te enviaremos las respuestas a {email}", mail_none: "¿Quieres las respuestas también por correo?",
      mail_change: "Cambiar correo", mail_add: "Añadir correo", mail_save: "Guardar correo", cancel: "Cancelar",
    },
  };
  var LOCALE = pickLocale();
  /** ``offered``: the tenant's languages (its widget settings' ``locales``, in its order): only
   *  those are picked, and the first of them (that the catalogue has) when none is wanted. */
  function pickLocale(offered) {
    var wanted = [script.dataset.locale, document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]).concat(offered || []);
    for (var i = 0; i < wanted.length; i++) {
      var lang = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (STRINGS[lang] && (!offered || offered.indexOf(lang) >= 0)) return lang;
    }
    return "en";
  }
  /** The catalogue's text for ``key`` in the widget's language, with {name}s filled from ``vars``. */
  function t(key, vars) {
    var text = STRINGS[LOCALE][key] || STRINGS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, function (m, k) { return vars && k in vars ? String(vars[k]) : m; });
  }

  function trimSlash(s) { return String(s).replace(/\/+$/, ""); }
  function now() { return Date.now(); }

  // -- small utilities ------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /** The claims of a JWT (not verified: only to know when to renew it and what it allows). */
  function claims(jwt) {
    try {
      var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) {
      return {};
    }
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (e) { return null; }
  }
  function save(state) {
    try {
      if (state) localStorage.setItem(STORE_KEY, JSON.stringify(state));
      else localStorage.removeItem(STORE_KEY);
    } catch (e) { /* storage full or disabled: the session lasts as long as the page */ }
  }

  // The session's tokens as every tab of the site sees them, in IndexedDB. localStorage is not
  // enough for the renewal: Chromium carries it between tabs' processes asynchronously, so a tab
  // that takes the lock right after another tab renewed the tokens can still read the refresh
  // token just rotated, present it again - and reuse ends the session. An IndexedDB transaction
  // committed before the lock is released is seen by the next tab's transaction. Where IndexedDB
  // cannot be opened, localStorage alone is used (as before).
  var TOKEN_FIELDS = ["access_token", "chat_token", "refresh_token", "access_exp", "chat_exp", "scopes", "user",
                      "identity"];
  var sharedDb = null;
  function sharedStore(mode, fn) {
    if (!sharedDb) {
      sharedDb = new Promise(function (resolve) {
        try {
          var open = indexedDB.open("switchboard", 1);
          open.onupgradeneeded = function () { open.result.createObjectStore("sessions"); };
          open.onsuccess = function () { resolve(open.result); };
          open.onerror = open.onblocked = function () { resolve(null); };
        } catch (e) { resolve(null); }
      });
    }
    return sharedDb.then(function (db) {
      if (!db) return undefined;
      return new Promise(function (resolve) {
        try {
          var tx = db.transaction("sessions", mode);
          var result = fn(tx.objectStore("sessions"));
          tx.oncomplete = function () { resolve(result && "result" in result ? result.result : null); };
          tx.onerror = tx.onabort = function () { resolve(undefined); };
        } catch (e) { resolve(undefined); }
      });
    });
  }
  /** The tokens the last renewal or sign-in of any tab left; undefined where IndexedDB is unusable. */
  function loadShared() {
    return sharedStore("readonly", function (store) { return store.get(STORE_KEY); });
  }
  /** Record this tab's tokens for the others; resolves once committed (before the lock is let go). */
  function saveShared(tokens) {
    var record = null;
    if (tokens && tokens.refresh_token) {
      record = {};
      TOKEN_FIELDS.forEach(function (name) { record[name] = tokens[name]; });
    }
    return sharedStore("readwrite", function (store) {
      return record ? store.put(record, STORE_KEY) : store.delete(STORE_KEY);
    });
  }

  /** Run fn while holding a cross-tab lock (refresh tokens rotate: two tabs must not both use one). */
  function withLock(name, fn) {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request(name, fn);
    return fn();
  }

  function ApiError(status, body) {
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.body = body;
    this.message = (body && (body.detail || body.title)) || "request failed (" + status + ")";
  }

  function api(method, path, body, token) {
    var headers = { "content-type": "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    return fetch(CFG.api + path, {
      method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", mode: "cors",
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) throw new ApiError(r.status, data);
        return data;
      });
    });
  }

  // -- events for the host page ---------------------------------------------------------
  var listeners = {};
  function on(name, fn) { (listeners[name] = listeners[name] || []).push(fn); return api_; }
  function off(name, fn) {
    listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; });
    return api_;
  }
  function emit(name, value) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(value); } catch (e) { console.error("Switchboard: a '" + name + "' listener failed", e); }
    });
    try {
      window.dispatchEvent(new CustomEvent("switchboard:" + name, { detail: value }));
    } catch (e) { /* old browsers */ }
  }

  // -- session: tokens, refresh, sign-in ------------------------------------------------
  // state (in localStorage): {access_token, chat_token, refresh_token, access_exp, chat_exp, user,
  //                           identity, channel_id, outbox: [{client_id, channel_id?, text}]}
  var state = load() || {};
  var refreshTimer = null;
  var signingIn = null;

  function tokensFrom(bundle, identity) {
    var at = claims(bundle.access_token), ct = claims(bundle.chat_token);
    // lifetimes, not the tokens' absolute exp: the visitor's clock may be wrong
    return {
      access_token: bundle.access_token, chat_token: bundle.chat_token, refresh_token: bundle.refresh_token,
      access_exp: now() + (bundle.expires_in || (at.exp && at.iat ? at.exp - at.iat : 900)) * 1000,
      chat_exp: now() + (ct.exp && ct.iat ? ct.exp - ct.iat : 3600) * 1000,
      scopes: String(ct.scope || at.scope || "").split(" "),
      user: bundle.user, identity: identity === undefined ? state.identity || null : identity,
    };
  }

  function adopt(tokens) {
    // the pre-chat answers given before the first sign-in are this visitor's too
    var keep = { channel_id: state.channel_id, outbox: state.outbox || [], intro: state.intro };
    if (state.user && tokens.user && state.user.id !== tokens.user.id) {
      // another user: not their conversation - but what an anonymous visitor wrote and is not yet
      // sent is the identified visitor's own (identify() is the same person signing in)
      keep = { channel_id: null, outbox: state.user.anonymous ? state.outbox || [] : [],
        intro: state.user.anonymous ? state.intro : undefined };
    }
    state = Object.assign({}, tokens, keep);
    save(state);
    scheduleRefresh();
    return saveShared(state);
  }

  function hasSession() { return !!(state && state.refresh_token); }

  function fresh(tokens) {
    return tokens && tokens.refresh_token && tokens.access_exp - now() > REFRESH_MARGIN_MS &&
      tokens.chat_exp - now() > REFRESH_MARGIN_MS;
  }

  /** Valid tokens: the stored ones, renewed when they are about to expire, or a new sign-in. */
  function session(force) {
    if (signingIn) return signingIn;
    signingIn = withLock(STORE_KEY, function () {
      return loadShared().then(function (shared) { return renewHolding(shared, force); });
    }).finally(function () { signingIn = null; });
    return signingIn;
  }

  /** session()'s work, under the lock: ``shared`` is the shared store's record (see loadShared). */
  function renewHolding(shared, force) {
    // another tab may have renewed the tokens meanwhile: take the newest (the latest renewal's
    // tokens expire last) of the shared record and localStorage, if newer than this tab's
    var newest = null, local = load();
    [shared ? Object.assign({}, local || {}, shared) : null, local].forEach(function (stored) {
      if (stored && stored.refresh_token && (!state.user || !stored.user || stored.user.id === state.user.id) &&
          (!newest || stored.access_exp > newest.access_exp)) newest = stored;
    });
    if (newest && newest.refresh_token !== state.refresh_token &&
        (!state.refresh_token || !(newest.access_exp < state.access_exp))) {
      state = Object.assign({}, state, newest);
      save(state);
      scheduleRefresh();
    }
    if (!force && fresh(state)) return state;
    if (state.refresh_token) {
      var renewing = state.refresh_token;
      return api("POST", "/auth/refresh", { refresh_token: renewing }).then(function (bundle) {
        // logout() or identify() replaced the session meanwhile: these tokens are no longer ours
        if (state.refresh_token !== renewing) throw { code: "superseded" };
        return adopt(tokensFrom(bundle)).then(function () { return state; });
      }, function (err) {
        // logout() or identify() replaced the session meanwhile: its end is theirs, not ours to follow
        if (state.refresh_token !== renewing) throw { code: "superseded" };
        if (err instanceof ApiError && err.status === 401) {
          // revoked, reused or expired: this session is over; start a new one
          forget();
          return signIn(state.identity);
        }
        throw err;
      });
    }
    return signIn(state.identity);
  }

  // Bumped by identify() and logout(): a sign-in started before the latest of them answers for
  // a visitor the page no longer wants (identify(A) then identify(B), or logout() while signing
  // in), so its session is ended, not adopted - the widget ends as the page last said.
  var epoch = 0;

  function signIn(identity, startedIn) {
    var mine = startedIn === undefined ? epoch : startedIn;
    if (mine !== epoch) return Promise.reject({ code: "superseded" });
    var body = { tenant: CFG.tenant };
    var path = "/auth/external";
    if (identity && identity.token) { // the website's own JWT: token exchange (RFC 8693's shape)
      path = "/auth/exchange";
      body.subject_token = identity.token;
      body.subject_token_type = "urn:ietf:params:oauth:token-type:jwt";
    } else if (identity) {
      body.user = identity;
    }
    // the anonymous visitor's token goes along, so a backend that supports it can carry the
    // visitor's open conversation over to the identified user
    var previous = identity && state.user && state.user.anonymous ? state.access_token : null;
    return api("POST", path, body, previous).then(function (bundle) {
      if (mine !== epoch) {
        api("POST", "/auth/revoke", { kind: "session" }, bundle.access_token).catch(function () {});
        throw { code: "superseded" };
      }
      return adopt(tokensFrom(bundle, identity || null)).then(function () { return state; });
    });
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!state.refresh_token) return;
    var at = Math.min(state.access_exp, state.chat_exp) - REFRESH_MARGIN_MS - now();
    refreshTimer = setTimeout(function () {
      // not forced: if another tab has renewed them meanwhile, its tokens are taken instead
      if (hasSession()) session(false).then(scheduleRefresh, scheduleRefreshSoon);
    }, Math.max(1000, Math.min(at, 0x7fffffff)));
  }
  function scheduleRefreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (hasSession()) session(false).then(scheduleRefresh, scheduleRefreshSoon);
    }, 15000);
  }

  function forget() {
    clearTimeout(refreshTimer);
    var identity = state.identity || null;
    state = { identity: identity };
    save(null);
    saveShared(null);
  }

  // -- the WebSocket: requests by rid, reconnect with backoff ----------------------------
  var sock = null;
  var wanted = false; // should a connection be up?
  var attempts = 0;
  var reconnectTimer = null;
  var pending = {};
  var rid = 0;
  var connecting = null;

  function connect() {
    wanted = true;
    if (sock && (sock.readyState === 0 || sock.readyState === 1)) return;
    if (connecting) return;
    clearTimeout(reconnectTimer);
    // refused several times with tokens that look fine (a revoked chat token, a wrong clock): renew them
    connecting = session(attempts > 3).then(function (s) {
      connecting = null;
      if (!wanted) return;
      var url = new URL(CFG.ws); // keeps the stage path (wss://…/live) as is
      // identify() may have signed in as someone else meanwhile: connect as whoever is signed in now
      url.searchParams.set("token", (state.chat_token && fresh(state) ? state : s).chat_token);
      var ws = new WebSocket(url.href);
      sock = ws;
      ws.onopen = function () {
        attempts = 0;
        ui.connection(true);
        onConnected();
      };
      ws.onmessage = function (ev) {
        if (sock !== ws) return; // a socket being replaced (identify(), logout) speaks no more
        var frame;
        try { frame = JSON.parse(ev.data); } catch (e) { return; }
        if (frame.type === "reply" && frame.rid && pending[frame.rid]) {
          var p = pending[frame.rid];
          delete pending[frame.rid];
          clearTimeout(p.timer);
          if (frame.ok) p.resolve(frame.data || {});
          else p.reject(frame.error || { code: "internal" });
        } else if (frame.type === "event") {
          onEvent(frame.event, frame.data || {});
        }
      };
      ws.onclose = function () {
        if (sock === ws) sock = null;
        Object.keys(pending).forEach(function (k) {
          clearTimeout(pending[k].timer);
          pending[k].reject({ code: "disconnected" });
        });
        pending = {};
        ui.connection(false);
        if (wanted) retry();
      };
    }, function () {
      connecting = null;
      if (wanted) retry();
    });
  }

  function retry() {
    clearTimeout(reconnectTimer);
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempts));
    attempts += 1;
    delay = delay / 2 + Math.random() * delay / 2; // jitter: not every visitor at once after an outage
    reconnectTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    wanted = false;
    clearTimeout(reconnectTimer);
    if (sock) { try { sock.close(1000); } catch (e) { /* closed already */ } }
    sock = null;
  }

  function request(action, params) {
    return new Promise(function (resolve, reject) {
      if (!sock || sock.readyState !== 1) { reject({ code: "disconnected" }); return; }
      var id = "w" + (++rid);
      var timer = setTimeout(function () {
        if (pending[id]) { delete pending[id]; reject({ code: "timeout" }); }
      }, REQUEST_TIMEOUT_MS);
      pending[id] = { resolve: resolve, reject: reject, timer: timer };
      sock.send(JSON.stringify(Object.assign({ action: action, rid: id }, params || {})));
    });
  }

  // -- the conversation -----------------------------------------------------------------
  var channel = null;
  var messages = []; // stored messages, oldest first
  var byId = {};
  var names = {}; // user id -> display name (learnt from messages and typing)
  var unread = 0;
  var lastTypingSent = 0;
  var opening = null; // support.open in flight

  // A support conversation has one visitor: every visitor message in it is this visitor's,
  // including those written before identify() (under the anonymous id it carried over from).
  function isMine(m) {
    return !!(state.user && m.sender && (m.sender.id === state.user.id || m.sender.role === "visitor"));
  }

  function onConnected() {
    var ready = state.channel_id ? watch(state.channel_id) : findOpenChannel();
    ready.then(flushOutbox, flushOutbox);
    ready.then(sendContext, function () {}); // a new page load, or changes made while offline
  }

  function findOpenChannel() {
    return request("channel.query", { filter: { member: "me" }, limit: 10 }).then(function (data) {
      var open = (data.channels || []).filter(function (c) { return c.type === "support" && c.status !== "closed"; })[0];
      if (open) return watch(open.id);
    }, function () { /* offline: the reconnect tries again */ });
  }

  function watch(id) {
    return request("channel.watch", { channel_id: id }).then(function (data) {
      setChannel(data.channel);
      var fresh = data.messages || [];
      var newest = messages.length ? messages[messages.length - 1].id : null;
      var gap = newest && fresh.length && fresh[0].id > newest;
      fresh.forEach(addMessage);
      ui.status(); // names learnt from the messages
      if (ui.isOpen() && !document.hidden) markRead();
      if (gap) return catchUp(fresh[0].id, newest, 5);
    }, function (err) {
      if (err && (err.code === "not_found" || err.code === "forbidden")) {
        // not ours any more (another visitor on this device, or deleted): start afresh
        state.channel_id = null;
        save(state);
        setChannel(null);
        return findOpenChannel();
      }
    });
  }

  /** Messages missed while offline that are older than what channel.watch returned. */
  function catchUp(before, until, pages) {
    if (!pages || !channel) return;
    return request("channel.history", { channel_id: channel.id, before: before, limit: 100 }).then(function (d) {
      var page = d.messages || [];
      page.forEach(addMessage);
      if (page.length && page[0].id > until && d.cursor) return catchUp(page[0].id, until, pages - 1);
    }, function () { /* the next reconnect tries again */ });
  }

  function setChannel(ch) {
    var before = channel && channel.status;
    channel = ch;
    state.channel_id = ch ? ch.id : null;
    save(state);
    ui.status();
    if (ch && ch.status !== before) emit("status", ch.status);
  }

  function addMessage(m) {
    if (!m || !m.id) return false;
    if (m.sender && m.sender.name) names[m.sender.id] = m.sender.name;
    var known = byId[m.id];
    if (known) {
      if (m.deleted && !known.deleted) { Object.assign(known, m); ui.render(); }
      return false;
    }
    byId[m.id] = m;
    var i = messages.length;
    while (i > 0 && messages[i - 1].id > m.id) i--;
    messages.splice(i, 0, m);
    // an acknowledged message of ours replaces its pending copy
    state.outbox = (state.outbox || []).filter(function (o) { return o.client_id !== m.client_id || !isMine(m); });
    save(state);
    ui.render();
    return true;
  }

  function onEvent(name, data) {
    if (name === "message.new") {
      var m = data.message;
      if (!channel || m.channel_id !== channel.id) return;
      if (addMessage(m)) {
        emit("message", m);
        if (!isMine(m)) {
          ui.typing(null);
          if (ui.isOpen() && !document.hidden) markRead();
          else setUnread(unread + 1);
        }
      }
    } else if (name === "message.deleted") {
      addMessage(data.message);
    } else if (name === "channel.updated") {
      if (channel && data.channel && data.channel.id === channel.id) setChannel(data.channel);
    } else if (name === "typing") {
      if (channel && data.channel_id === channel.id && data.user && (!state.user || data.user.id !== state.user.id)) {
        if (data.user.name) names[data.user.id] = data.user.name;
        ui.typing(data.user);
        ui.status();
      }
    } else if (name === "read") {
      if (channel && data.channel_id === channel.id) ui.seen(data.message_id);
    } else if (name === "auth.revoked") {
      if (identifying) {
        // our own identify() ends the anonymous session; the known visitor's connection follows
        // (were the new session revoked too, that connection would be refused and say so)
        return;
      }
      if (data.kind === "session" || data.kind === "user") {
        signedOut();
      } else if (data.scopes) {
        state.scopes = (state.scopes || []).filter(function (s) { return data.scopes.indexOf(s) < 0; });
        ui.status();
      }
    }
  }

  function signedOut() {
    disconnect();
    forget();
    resetConversation();
    ui.notice(t("signed_out"));
  }

  function resetConversation() {
    channel = null;
    messages = [];
    byId = {};
    setUnread(0);
    ui.render();
    ui.status();
  }

  function setUnread(n) {
    if (n === unread) return;
    unread = n;
    ui.badge(n);
    emit("unread", n);
  }

  function markRead() {
    setUnread(0);
    if (!channel || channel.status === "closed") return;
    var last = null;
    for (var i = messages.length - 1; i >= 0; i--) {
      if (!isMine(messages[i])) { last = messages[i]; break; }
    }
    if (last && last.id !== ui.readSent) {
      ui.readSent = last.id;
      request("read", { channel_id: channel.id, message_id: last.id }).catch(function () { ui.readSent = null; });
    }
  }

  /** Open (or get) the visitor's support channel: the first message starts the conversation. */
  function ensureChannel() {
    if (channel && channel.status !== "closed") return Promise.resolve(channel);
    if (opening) return opening;
    var params = {};
    if (desk()) { // section 8: where the visitor is, the pre-chat answers, the follow-up address
      params.context = pageContext();
      contextSent = JSON.stringify(params.context);
      var intro = state.intro || {};
      if (intro.prechat && Object.keys(intro.prechat).length) params.prechat = intro.prechat;
      if (intro.email) params.email = intro.email;
    }
    opening = request("support.open", params).then(function (data) {
      messages = []; byId = {};
      delete state.intro; // asked again for the next conversation
      setChannel(data.channel);
      return watch(data.channel.id).then(function () { return channel; });
    }, function (err) {
      if (err && err.code === "validation_error" && state.intro) {
        // the tenant's form changed meanwhile (or a required answer is missing): ask again
        delete state.intro;
        save(state);
        ui.status();
      }
      throw err;
    }).finally(function () { opening = null; });
    return opening;
  }

  // -- the support day (contract section 8): context, pre-chat, offline hours, CSAT, resume ----
  // A backend that serves section 8 says so in its widget settings (they carry `online`). An older
  // one refuses the new fields (validation_error), so with it the widget keeps to section 4.
  function desk() { return "online" in theme; }

  /** Where the visitor is: sent with support.open, and again (visitor.context) when it changes. */
  function pageContext() {
    var c = { title: String(document.title || "").slice(0, 300), locale: navigator.language || LOCALE };
    // only web addresses, and none when there is none (a direct visit has no referrer)
    [["url", location.href], ["referrer", document.referrer]].forEach(function (kv) {
      if (/^https?:\/\//.test(kv[1] || "")) c[kv[0]] = kv[1].slice(0, 2000);
    });
    // the browser's IANA time zone (our extension), so staff see the visitor's local time
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && zone.length <= 64) c.time_zone = zone;
    } catch (e) { /* no Intl: no zone */ }
    return c;
  }

  var contextSent = null; // the context the server has, as JSON
  var contextTimer = null;
  var CONTEXT_DEBOUNCE_MS = 800; // a router's burst of pushState/replaceState is one change
  function pageChanged() {
    clearTimeout(contextTimer);
    contextTimer = setTimeout(sendContext, CONTEXT_DEBOUNCE_MS);
  }
  function sendContext() {
    if (!desk() || !channel || channel.status === "closed" || !sock || sock.readyState !== 1) return;
    var c = pageContext(), key = JSON.stringify(c);
    if (key === contextSent) return;
    contextSent = key;
    request("visitor.context", { channel_id: channel.id, context: c }).catch(function () { contextSent = null; });
  }

  /** Single-page sites change the page without loading one: history's pushState and replaceState
   *  are wrapped (they fire no event of their own), popstate and hashchange are listened to. */
  function watchNavigation() {
    ["pushState", "replaceState"].forEach(function (name) {
      var original = history[name];
      if (typeof original !== "function") return;
      history[name] = function () {
        var result = original.apply(this, arguments);
        pageChanged();
        return result;
      };
    });
    window.addEventListener("popstate", pageChanged);
    window.addEventListener("hashchange", pageChanged);
  }

  /** Outside the tenant's business hours ({time_zone, weekly: [{day, from, to}], holidays}) now?
   *  day: "mon".."sun" or 0-6 (0 Sunday, 7 Sunday too); from/to "HH:MM" in the tenant's zone. */
  function outsideHours(hours, date) {
    if (!hours || !hours.time_zone || !hours.weekly || !hours.weekly.length) return false;
    var p = {};
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: hours.time_zone, weekday: "short", year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .formatToParts(date).forEach(function (x) { p[x.type] = x.value; });
    } catch (e) { return false; } // an unknown zone: the server's `online` decides alone
    var day = p.weekday.slice(0, 3).toLowerCase(), hm = p.hour + ":" + p.minute;
    var n = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].indexOf(day);
    var today = p.year + "-" + p.month + "-" + p.day;
    if ((hours.holidays || []).some(function (d) { return (d && d.date ? d.date : d) === today; })) return true;
    return !hours.weekly.some(function (r) {
      var d = typeof r.day === "number" ? r.day % 7 : String(r.day).slice(0, 3).toLowerCase();
      return (d === day || d === n) && hm >= String(r.from) && hm < String(r.to);
    });
  }

  /** Nobody can answer now: no operator online, or outside business hours (the server's
   *  `open_now` when it sends one, else worked out here from `hours`). */
  function isOffline() {
    if (!desk()) return false;
    if (theme.online === false || theme.open_now === false) return true;
    return theme.open_now === undefined && outsideHours(theme.hours, new Date());
  }

  /** "required", "optional" or "" (not asked): the follow-up address, asked while offline. */
  function emailAsked() {
    var mode = theme.email_when_offline;
    return isOffline() && (mode === "required" || mode === "optional") ? mode : "";
  }

  function prechatFields() {
    return desk() && Array.isArray(theme.prechat) ? theme.prechat.filter(function (f) { return f && f.id; }) : [];
  }

  /** Before the first message: the pre-chat form (and the email while offline), once answered. */
  function introNeeded() {
    return desk() && (!channel || channel.status === "closed") && !state.intro &&
      (prechatFields().length > 0 || !!emailAsked());
  }

  function introDone(answers) {
    state.intro = answers;
    save(state);
    ui.status();
    ui.focusInput();
    flushOutbox();
  }

  var rated = {}; // channel id -> true: rated in this page
  function rate(score, comment) {
    var params = { channel_id: channel.id, score: score };
    if (comment) params.comment = comment.slice(0, 1000);
    var id = channel.id;
    return request("channel.rate", params).then(function (d) {
      rated[id] = true;
      if (d && d.channel && channel && d.channel.id === channel.id) setChannel(d.channel);
      else ui.status();
    });
  }
  function mayRate() {
    return desk() && !!channel && channel.status === "closed" && channel.csat == null && !rated[channel.id];
  }

  /** The follow-up email's link (?resume=<token>): signs the visitor back in to that conversation
   *  (POST /auth/resume), then takes the token out of the address bar (single use; and no one
   *  should copy it along with the URL). */
  function resumeFromLink() {
    var url;
    try { url = new URL(location.href); } catch (e) { return null; }
    var token = url.searchParams.get("resume");
    if (!token) return null;
    url.searchParams.delete("resume");
    try { history.replaceState(history.state, "", url.pathname + url.search + url.hash); } catch (e) { /* kept */ }
    epoch += 1; // a sign-in in flight belongs to whoever this page was before the link
    return api("POST", "/auth/resume", { tenant: CFG.tenant, token: token }).then(function (bundle) {
      var before = state.user && state.user.id;
      disconnect();
      state.identity = null;
      return adopt(tokensFrom(bundle, null)).then(function () {
        if (before && bundle.user && before !== bundle.user.id) resetConversation();
        var id = bundle.channel_id || (bundle.channel && bundle.channel.id);
        if (id) { state.channel_id = id; save(state); }
        attempts = 0;
        ui.open();
        connect();
      });
    }).catch(function () {
      ui.open();
      ui.notice(t("resume_failed"));
    });
  }

  function send(text) {
    text = String(text || "").trim();
    if (!text) return;
    var item = { client_id: uuid(), text: text.slice(0, 4000), at: now() };
    state.outbox = (state.outbox || []).concat([item]);
    save(state);
    ui.render();
    if (sock && sock.readyState === 1) flushOutbox();
    else start();
  }

  var flushing = false;
  var flushAgain = false;
  var flushed = Promise.resolve(); // the flush in progress, settled
  var identifying = false; // identify() in progress: nothing is sent as the anonymous visitor meanwhile

  /** Send every unacknowledged message, each with its own client_id (a retry is never a duplicate). */
  function flushOutbox() {
    if (identifying) return; // identify() sends the outbox once signed in as the known visitor
    if (introNeeded()) { ui.status(); return; } // the pre-chat form first; its answer sends it
    if (flushing) { flushAgain = true; return; }
    if (!(state.outbox || []).length || !sock || sock.readyState !== 1) return;
    flushing = true;
    flushAgain = false;
    flushed = ensureChannel().then(function (ch) {
      var items = (state.outbox || []).filter(function (o) { return !o.failed; });
      return items.reduce(function (prev, item) {
        return prev.then(function () {
          return request("message.send", { channel_id: ch.id, text: item.text, client_id: item.client_id,
            attachments: item.attachments || [] })
            .then(function (data) { if (addMessage(data.message)) emit("message", data.message); }, function (err) {
              if (err && (err.code === "disconnected" || err.code === "timeout" || err.code === "rate_limited" ||
                  err.code === "internal")) throw err; // the next connection sends it again
              if (err && err.code === "conflict") { // closed meanwhile: ask again in a new conversation
                setChannel(Object.assign({}, channel, { status: "closed" }));
                throw err;
              }
              item.failed = (err && err.message) || "not sent";
              save(state);
              ui.render();
            });
        });
      }, Promise.resolve());
    }).then(function () {
      flushing = false;
      if (flushAgain) flushOutbox(); // written while we were sending
    }, function () {
      flushing = false; // kept in the outbox: the next connection sends it
    }).finally(function () { ui.render(); });
  }

  function retryFailed(clientId) {
    (state.outbox || []).forEach(function (o) { if (o.client_id === clientId) delete o.failed; });
    save(state);
    ui.render();
    flushOutbox();
  }

  function sendTyping() {
    if (!channel || channel.status === "closed" || now() - lastTypingSent < TYPING_EVERY_MS) return;
    lastTypingSent = now();
    request("typing", { channel_id: channel.id }).catch(function () { /* best effort */ });
  }

  function askToEnd() { ui.confirmEnd(); }

  function endConversation() {
    if (!channel || channel.status === "closed") return;
    request("channel.close", { channel_id: channel.id }).then(function (d) { setChannel(d.channel); ui.ended(); },
      function () { ui.notice(t("end_failed")); ui.focusInput(); });
  }

  function newConversation() {
    channel = null; messages = []; byId = {};
    state.channel_id = null; save(state);
    ui.render(); ui.status();
    ui.focusInput();
  }

  /** An attachment, downloaded: attachment.open's 5-minute link is fetched and saved under the
   *  file's name, so the host page never navigates away (an S3 error page would replace it). */
  function openAttachment(m, a) {
    request("attachment.open", { channel_id: m.channel_id, message_id: m.id, key: a.key }).then(function (d) {
      if (!/^https?:\/\//.test(d.url || "")) throw { message: "not a download link" };
      return fetch(d.url, { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw { message: "the download failed (" + r.status + ")" };
        return r.blob();
      }).then(function (blob) {
        var href = URL.createObjectURL(blob);
        var link = document.createElement("a");
        link.href = href;
        link.download = d.name || "attachment";
        link.click();
        setTimeout(function () { URL.revokeObjectURL(href); }, 60000);
      });
    }).catch(function (err) {
      ui.notice(t("open_failed", { error: (err && (err.message || err.code)) || "error" }));
    });
  }

  function attach(file) {
    if (!file || !channel) return;
    ensureChannel().then(function (ch) {
      return request("attachment.presign", { channel_id: ch.id, content_type: file.type || "application/octet-stream",
        size: file.size }).then(function (p) {
        var form = new FormData();
        Object.keys(p.fields || {}).forEach(function (k) { form.append(k, p.fields[k]); });
        form.append("file", file);
        return fetch(p.url, { method: "POST", body: form }).then(function (r) {
          if (!r.ok) throw { message: "upload failed" };
          var item = { client_id: uuid(), text: file.name.slice(0, 4000) || "attachment", at: now(),
            attachments: [{ key: p.key, name: file.name.slice(0, 200), content_type: file.type, size: file.size }] };
          state.outbox = (state.outbox || []).concat([item]);
          save(state);
          flushOutbox();
        });
      });
    }).catch(function (err) { ui.notice(t("upload_failed", { error: (err && err.message) || "error" })); });
  }

  // -- start, identify, logout ----------------------------------------------------------
  function start() {
    connect();
  }

  function identify(user) {
    var identity;
    if (user && user.token) {
      // the website's own JWT (a trusted issuer's): Switchboard verifies it, and the user id is
      // the one the token names
      identity = { token: String(user.token) };
    } else if (user && user.id && user.hash) {
      identity = { id: String(user.id), hash: String(user.hash) };
      if (user.name) identity.name = String(user.name);
      if (user.email) identity.email = String(user.email);
    } else {
      console.error("Switchboard.identify needs {id, hash} (hash from your backend) or {token} (your site's JWT)");
      return Promise.resolve();
    }
    var same = state.identity && hasSession() && (identity.token ? state.identity.token === identity.token
      : state.identity.id === identity.id);
    state.identity = identity;
    save(state);
    if (same) return Promise.resolve();
    var hadSession = hasSession();
    var mine = ++epoch; // an identify() or logout() after this one wins over it
    // a message on its way goes out first, as the anonymous visitor, and no other starts: the
    // sign-in then carries the conversation over, and what is still unsent stays in the outbox
    // for the known visitor (a send landing after the hand-over would be left behind)
    identifying = true;
    return flushed.then(function () {
      return withLock(STORE_KEY, function () { return signIn(identity, mine); });
    }).then(function () {
      if (mine !== epoch) return; // a later identify() or logout() took over
      identifying = false;
      var oldSocket = sock;
      if (hadSession || oldSocket || wanted) {
        // the socket belongs to the previous user: reconnect as this one
        resetConversation();
        if (oldSocket) { oldSocket.onclose = null; try { oldSocket.close(1000); } catch (e) { /* gone */ } sock = null; }
        attempts = 0;
        connect();
      }
    }, function (err) {
      // a later identify() or logout() took over: whatever this one met, it is theirs to finish
      if (mine !== epoch || (err && err.code === "superseded")) return;
      identifying = false;
      console.error("Switchboard.identify failed:", err && err.code);
      state.identity = null;
      save(state);
      flushOutbox(); // still the anonymous visitor: what they wrote goes out as before
    });
  }

  function logout() {
    epoch += 1; // a sign-in in flight (identify(), a reconnect) is ended when it answers
    identifying = false;
    var token = state.access_token;
    disconnect();
    var done = token ? api("POST", "/auth/revoke", { kind: "session" }, token).catch(function () {}) : Promise.resolve();
    state.identity = null;
    forget();
    resetConversation();
    ui.close();
    return done;
  }

  // -- the UI (Shadow DOM) ----------------------------------------------------------------
  var theme = { title: t("title"), color: null, greeting: t("greeting"), position: "right",
    attachments: false };
  // data-color on the script tag: the widget's colour, drawn at once (it wins over the tenant's
  // theme: a page that names its colour never sees it change); without it the launcher waits for
  // the tenant's theme (at most THEME_WAIT_MS), so no visitor sees the colour change either
  var dataColor = validColor(script.dataset.color);
  var THEME_WAIT_MS = 1500;
  // when the panel fills the window; the same query as the CSS's full-screen @media
  var FULL_SCREEN = "(max-width: 30em), (max-height: 36em)";

  function validColor(c) { return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(c || "") ? c : null; }

  /** White, or the dark ink where white on ``hex`` would fall under WCAG's 4.5:1 (a light tenant colour). */
  function inkOn(hex) {
    var x = hex.length === 4 ? hex.replace(/[0-9a-f]/gi, "$&$&").slice(1) : hex.slice(1);
    var lum = [0, 2, 4].map(function (i) {
      var v = parseInt(x.slice(i, i + 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return 1.05 / (l + 0.05) >= 4.5 ? "#fff" : "#1d2330";
  }

  // Sizes are in em of .sb, whose 0.875em is 14 px at the browser's default 16 px: the host's
  // `all: initial` resets font-size to the reader's default, so the whole widget follows the
  // browser's font-size setting and zoom (rem would follow the host page's root instead, which a
  // site may have set to anything). Hairlines and the focus ring stay in px. New components:
  // size in em, use .btn (and .btn.quiet) for buttons, and the shared :focus-visible ring and
  // the 44 px (3.143em) / 24 px (1.715em) target minimums come with them. Colours: --c is the
  // tenant's colour, --ci the ink drawn on it (white, or dark where white would fall under 4.5:1).
  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".sb{--c:#3056d3;--ci:#fff;--ink:#1d2330;--muted:#5b6475;--line:#e3e6eb;--bg:#f6f7f9;",
    "position:fixed;bottom:1.4em;right:1.4em;z-index:2147483000;",
    "font:.875em/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink)}",
    ".sb.left{right:auto;left:1.4em}",
    "button{font:inherit;cursor:pointer;color:inherit}",
    ":focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 2px var(--ink)}",
    ".btn{background:var(--c);color:var(--ci);border:0;border-radius:.57em;padding:.5em .85em;min-height:3.143em;",
    "white-space:nowrap}",
    ".btn.quiet{background:#fff;color:var(--ink);border:1px solid #b9c0cc}",
    ".launcher{width:4em;height:4em;border-radius:50%;border:0;background:var(--c);color:var(--ci);",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center;position:relative;margin-left:auto}",
    ".sb.left .launcher{margin-left:0}",
    ".sb.waiting .launcher{visibility:hidden}",
    ".launcher svg{width:1.85em;height:1.85em;fill:currentColor}",
    ".badge{position:absolute;top:-.35em;right:-.35em;min-width:1.833em;height:1.833em;padding:0 .5em;",
    "border-radius:.92em;background:#d92d20;color:#fff;font-size:.857em;font-weight:700;line-height:1.833em;",
    "text-align:center}",
    ".panel{position:absolute;bottom:5.15em;right:0;width:25.7em;height:37em;max-width:calc(100vw - 2.8em);",
    "max-height:calc(100vh - 8em);background:#fff;border-radius:1em;box-shadow:0 10px 40px rgba(0,0,0,.25);",
    "display:flex;flex-direction:column;overflow:hidden}",
    ".sb.left .panel{right:auto;left:0}",
    "[hidden]{display:none!important}",
    ".head{background:var(--c);color:var(--ci);padding:.6em .6em .6em 1.15em;display:flex;align-items:center;",
    "gap:.3em}",
    ".head .t{flex:1;min-width:0}",
    "h2{margin:0;font-size:1.143em;font-weight:650;overflow-wrap:anywhere}",
    ".status{margin:.15em 0 0;font-size:.9em}",
    ".hbtn{background:transparent;border:0;color:inherit;padding:0 .6em;border-radius:.43em;min-height:3.143em;",
    "min-width:3.143em;white-space:nowrap}",
    ".hbtn:hover{background:rgba(127,127,127,.25)}",
    ".x{font-size:1.57em;line-height:1;min-height:2em;min-width:2em;padding:0}",
    ".log{flex:1;overflow-y:auto;background:var(--bg)}",
    ".log ol{margin:0;padding:.857em;list-style:none;display:flex;flex-direction:column;gap:.43em}",
    ".log li{max-width:82%;padding:.57em .8em;border-radius:.857em;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".log .theirs{background:#fff;border:1px solid var(--line);align-self:flex-start;border-bottom-left-radius:.3em}",
    ".log .mine{background:var(--c);color:var(--ci);align-self:flex-end;border-bottom-right-radius:.3em}",
    ".log .sys{align-self:center;background:transparent;color:var(--muted);font-size:.9em;text-align:center}",
    ".log .greeting{background:#fff;border:1px solid var(--line);align-self:flex-start}",
    ".who{display:block;font-size:.82em;font-weight:650;color:var(--muted);margin-bottom:.15em}",
    ".meta{display:block;font-size:.8em;margin-top:.25em;text-align:right}",
    ".pending{outline:1px dashed var(--muted);outline-offset:2px}",
    ".log .failed{background:#fde8e7;color:#8a1c14}",
    ".meta button{background:none;border:0;color:inherit;text-decoration:underline;padding:0 .2em;",
    "min-height:1.715em;min-width:1.715em}",
    ".deleted{font-style:italic}",
    ".log .theirs.deleted{color:var(--muted)}",
    ".att{display:block;font-size:.9em;text-decoration:underline;background:none;border:0;padding:.2em 0;",
    "min-height:1.9em;color:inherit;text-align:left}",
    ".typing{padding:.3em 1em;font-size:.9em;color:var(--muted);background:var(--bg)}",
    ".bar{padding:.5em 1em;border-top:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.5em;",
    "align-items:center;justify-content:space-between;background:#fff8e6}",
    ".bar .q{flex:1 1 10em}",
    ".bar .acts{display:flex;gap:.5em;flex-wrap:wrap}",
    ".bar form{flex-basis:100%;padding:0;border:0;align-items:stretch}",
    "form{display:flex;gap:.43em;padding:.7em;border-top:1px solid var(--line);background:#fff;align-items:flex-end}",
    "textarea{flex:1;min-width:0;resize:none;border:1px solid #8a93a3;border-radius:.57em;padding:.6em .7em;",
    "font:inherit;max-height:8.6em;min-height:3.143em;color:inherit;background:#fff}",
    "textarea::placeholder{color:#5b6475}",
    ".attach{background:#eef0f3;border:0;border-radius:.57em;min-width:3.143em;min-height:3.143em}",
    ".btn:disabled{opacity:.5;cursor:default}",
    ".offline{padding:.2em 1em;font-size:.857em;background:#fff3cd;color:#6b4e00}",
    ".intro,.rate{padding:.7em 1em;border-top:1px solid var(--line);background:#fff;display:flex;",
    "flex-direction:column;align-items:stretch;gap:.5em;overflow-y:auto;max-height:60%}",
    ".intro .btn,.rate .btn{align-self:flex-end}",
    ".intro .q{margin:0}",
    ".field{display:flex;flex-direction:column;gap:.2em}",
    ".tick{flex-direction:row;align-items:center;flex-wrap:wrap;gap:.5em}",
    ".tick input{order:-1;min-height:0;width:1.5em;height:1.5em}",
    ".tick .err{flex-basis:100%}",
    "label{font-weight:600}",
    ".hint{color:var(--muted);font-size:.9em}",
    "input,select,.intro textarea,.rate textarea{font:inherit;color:inherit;background:#fff;border:1px solid #8a93a3;",
    "border-radius:.57em;padding:.5em .6em;min-height:3.143em}",
    "[aria-invalid=true]{border:2px solid #b42318}",
    ".err,.errs{color:#b42318;font-size:.9em;margin:0}",
    ".err:empty,.errs:empty{display:none}",
    "fieldset{border:0;margin:0;padding:0}",
    "legend{font-weight:600;padding:0;margin-bottom:.4em}",
    ".stars{display:flex;gap:.4em}",
    ".star{position:relative}",
    ".star input{position:absolute;opacity:0;width:100%;height:100%;margin:0;cursor:pointer}",
    ".star label{display:grid;place-items:center;min-width:3.143em;min-height:3.143em;border:1px solid #8a93a3;",
    "border-radius:.57em;font-weight:650}",
    ".star input:checked+label{background:var(--c);color:var(--ci);border-color:var(--c)}",
    ".star input:focus-visible+label{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 2px var(--ink)}",
    ".log .away{align-self:center;text-align:center;font-size:.9em;background:#fff8e6;color:var(--ink);",
    "border:1px solid #f0d58c;border-radius:.857em}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (forced-colors:active){.launcher,.btn,.attach{border:1px solid ButtonText}}",
    // full screen where the floating panel would not fit: narrow (phones) or short (landscape
    // phones, 200 % zoom on a laptop); media-query em are the reader's default font size, so a
    // larger default font reaches full screen sooner. widget.js's FULL_SCREEN says the same.
    "@media (max-width:30em),(max-height:36em){.sb{bottom:.85em;right:.85em}.sb.left{left:.85em}",
    ".panel{position:fixed;inset:0;width:auto;height:auto;max-width:none;max-height:none;border-radius:0}",
    ".sb.open .launcher{display:none}",
    // 16 px at least: iOS Safari zooms the page into a smaller text field when it is tapped
    "textarea,input,select{font-size:max(16px,1.143em)}}",
  ].join("");

  var ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 ' +
    '2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 ' +
    '1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/></svg>';

  var ui = (function () {
    var host, root, el = {};
    var open = false;
    var typingTimer = null;
    var seenId = null;
    var noticeText = null;
    var lastCount = 0;
    var fullScreen = null;
    var waitTimer = null;

    // words set once by mount() (T("key")): set again when the tenant's languages change the
    // widget's (relabel); the rest of the widget's words are drawn by render() and status()
    var live = [];
    function T(key) { return function () { return t(key); }; }
    var labelled;
    function relabel() {
      if (labelled === LOCALE) return;
      labelled = LOCALE;
      live.forEach(function (x) { put(x[0], x[1], x[2]); });
      el.rate.replaceChildren(); // drawn again in the new language when asked for
      if (open) el.launcher.setAttribute("aria-label", t("close"));
      else badge(unread);
    }

    function put(n, k, v) {
      if (typeof v === "function") v = v();
      if (k === "text") n.textContent = v;
      else if (k === "html") n.innerHTML = v; // our own constant markup only
      else if (v === true) n.setAttribute(k, "");
      else if (v !== false && v != null) n.setAttribute(k, v);
    }

    function h(tag, attrs, children) {
      var n = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) {
        var v = attrs[k];
        if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
        else {
          if (typeof v === "function") live.push([n, k, v]);
          put(n, k, v);
        }
      });
      (children || []).forEach(function (c) { if (c) n.appendChild(c); });
      return n;
    }

    function mount() {
      host = h("div", { id: "switchboard-widget", "data-tenant": CFG.tenant });
      // the host page's CSS reaches this one element, and a rule more specific than :host (say
      // div:not(.x){transform:…}) would beat :host{all:initial} - a transform or filter here also
      // moves the position:fixed panel. Inline !important wins over any stylesheet of the page.
      host.setAttribute("style", "all:initial!important;display:block!important");
      root = host.attachShadow({ mode: "open" });
      var style = h("style", { text: CSS });
      el.input = h("textarea", { id: "sb-input", rows: "1", placeholder: T("placeholder"), maxlength: "4000",
        "aria-label": T("message"), onkeydown: function (e) {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
        }, oninput: function () { autosize(); if (el.input.value.trim()) sendTyping(); } });
      el.file = h("input", { type: "file", hidden: true, tabindex: "-1", "aria-hidden": "true",
        accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain",
        onchange: function () { attach(el.file.files[0]); el.file.value = ""; } });
      el.attach = h("button", { type: "button", class: "attach", "aria-label": T("attach"), hidden: true,
        text: "📎", onclick: function () { el.file.click(); } });
      el.send = h("button", { type: "submit", class: "btn send", "aria-label": T("send_label"), text: T("send") });
      el.form = h("form", { onsubmit: function (e) { e.preventDefault(); submit(); } },
        [el.input, el.file, el.attach, el.send]);
      el.title = h("h2", { id: "sb-title", text: theme.title });
      el.status = h("p", { class: "status", id: "sb-status", role: "status", "aria-live": "polite" });
      // its name is its visible text (WCAG 2.5.3: what a voice user says is what they see)
      el.end = h("button", { type: "button", class: "hbtn end", text: T("end"), hidden: true,
        "aria-controls": "sb-confirm", onclick: askToEnd });
      el.x = h("button", { type: "button", class: "hbtn x", "aria-label": T("close"), text: "×",
        onclick: function () { close(); } });
      // the log role is on a wrapper: on the <ol> itself it would hide the list from assistive
      // technology and orphan every <li> (axe: listitem)
      el.list = h("ol", {});
      el.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T("log"),
        tabindex: "0" }, [el.list]);
      el.typing = h("div", { class: "typing", role: "status", "aria-live": "polite", hidden: true });
      el.offline = h("div", { class: "offline", role: "status", text: T("reconnecting"), hidden: true });
      el.newBtn = h("button", { type: "button", class: "btn", text: T("new_conversation"), onclick: newConversation });
      el.closed = h("div", { class: "bar closed", hidden: true }, [
        h("span", { class: "q", text: T("has_ended") }), el.newBtn]);
      // "End chat" asks once, in the panel (a native confirm() would be the host page's dialog)
      el.keep = h("button", { type: "button", class: "btn quiet", text: T("keep"),
        onclick: function () { confirming(false); el.end.focus(); } });
      el.endYes = h("button", { type: "button", class: "btn", text: T("end_yes"),
        onclick: function () { confirming(false); endConversation(); } });
      el.confirm = h("div", { class: "bar confirm", id: "sb-confirm", role: "group", "aria-labelledby": "sb-confirm-q", hidden: true }, [
        h("span", { class: "q", id: "sb-confirm-q", text: T("end_question") }),
        h("div", { class: "acts" }, [el.keep, el.endYes])]);
      // the pre-chat form (and the email while offline): built from the tenant's fields in status()
      el.intro = h("form", { class: "intro", novalidate: true, hidden: true, "aria-labelledby": "sb-intro-q",
        onsubmit: function (e) { e.preventDefault(); submitIntro(); } });
      // where follow-up mail goes (visitor.email): said, and changed in place
      el.mailQ = h("span", { class: "q", role: "status" });
      el.mailBtn = h("button", { type: "button", class: "btn quiet", onclick: function () { editMail(1); } });
      el.mailIn = h("input", { id: "sb-me", type: "email", maxlength: "254", autocomplete: "email",
        "aria-describedby": "sb-me-e" });
      el.mailErr = h("p", { class: "err", id: "sb-me-e", role: "alert" });
      el.mailForm = h("form", { class: "field", novalidate: true, hidden: true, onsubmit: function (e) {
        e.preventDefault(); saveMail(); } }, [h("label", { for: "sb-me", text: T("email") }), el.mailIn, el.mailErr,
        h("div", { class: "acts" }, [h("button", { type: "submit", class: "btn", text: T("mail_save") }),
          h("button", { type: "button", class: "btn quiet", text: T("cancel"), onclick: function () { editMail(); } })])]);
      el.mail = h("div", { class: "bar mail", hidden: true }, [el.mailQ, el.mailBtn, el.mailForm]);
      el.rate = h("form", { class: "rate", novalidate: true, hidden: true, onsubmit: function (e) {
        e.preventDefault(); submitRating(); } });
      // a div, not a <header>: inside the dialog a header would be a second banner landmark
      el.panel = h("section", { class: "panel", id: "sb-panel", role: "dialog", "aria-labelledby": "sb-title",
        "aria-describedby": "sb-status", hidden: true, onkeydown: trapTab }, [
        h("div", { class: "head" }, [h("div", { class: "t" }, [el.title, el.status]), el.end, el.x]),
        el.offline, el.log, el.typing, el.mail, el.confirm, el.intro, el.rate, el.closed, el.form]);
      el.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
      el.launcher = h("button", { type: "button", class: "launcher", "aria-label": t("open"),
        "aria-expanded": "false", "aria-controls": "sb-panel", html: ICON,
        onclick: function () { toggle(); } });
      el.launcher.appendChild(el.badge);
      // Escape closes from anywhere in the widget, the launcher included
      el.wrap = h("div", { class: "sb" + (dataColor ? "" : " waiting"), part: "widget", onkeydown: function (e) {
        if (e.key === "Escape" && open) { e.stopPropagation(); close(); }
      } }, [el.panel, el.launcher]);
      root.appendChild(style);
      root.appendChild(el.wrap);
      (document.body || document.documentElement).appendChild(host);
      fullScreen = window.matchMedia ? window.matchMedia(FULL_SCREEN) : null;
      if (fullScreen) {
        var follow = function () { modal(); };
        if (fullScreen.addEventListener) fullScreen.addEventListener("change", follow);
        else if (fullScreen.addListener) fullScreen.addListener(follow);
      }
      if (!dataColor) waitTimer = setTimeout(ready, THEME_WAIT_MS); // no colour flash, but never hidden for long
      applyTheme();
      render();
      status();
    }

    /** The launcher is drawn once the tenant's colour is known (or THEME_WAIT_MS has passed). */
    function ready() {
      clearTimeout(waitTimer);
      if (el.wrap) el.wrap.classList.remove("waiting");
    }

    /** Full screen (narrow or short window): the dialog is modal and Tab stays inside it. */
    function modal() {
      if (!el.panel) return;
      var full = !!(fullScreen && fullScreen.matches);
      if (full) el.panel.setAttribute("aria-modal", "true");
      else el.panel.removeAttribute("aria-modal");
    }

    function focusables() {
      return Array.prototype.filter.call(
        el.panel.querySelectorAll("button, textarea, input, select, [tabindex='0']"),
        function (n) { return !n.disabled && n.offsetParent !== null; });
    }

    function trapTab(e) {
      if (e.key !== "Tab" || el.panel.getAttribute("aria-modal") !== "true") return;
      var all = focusables();
      if (!all.length) return;
      var first = all[0], last = all[all.length - 1], at = root.activeElement;
      if (e.shiftKey && (at === first || all.indexOf(at) < 0)) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && (at === last || all.indexOf(at) < 0)) { e.preventDefault(); first.focus(); }
    }

    var introKey = null; // what the intro form was built from: rebuilt only when that changes

    /** The pre-chat form: one labelled control per tenant field (text, email, a choice, free
     *  text), the follow-up email while offline, errors named beside each field and announced. */
    function buildIntro() {
      var fields = prechatFields(), mode = emailAsked();
      var key = JSON.stringify([fields, mode, LOCALE]);
      if (key === introKey) return;
      introKey = key;
      var rows = [h("p", { id: "sb-intro-q", class: "q", text: mode && !fields.length ? t("email_why") : t("prechat_intro") })];
      var controls = [];
      function row(id, label, required, control, hint) {
        control.id = id;
        control.setAttribute("aria-describedby", id + "-e");
        if (required) { control.required = true; control.setAttribute("aria-required", "true"); }
        controls.push({ el: control, label: label, required: required });
        rows.push(h("div", { class: "field" + (control.type === "checkbox" ? " tick" : "") }, [
          h("label", { for: id, text: label + (required ? "" : " (" + t("optional") + ")") }),
          hint ? h("span", { class: "hint", text: hint }) : null,
          control,
          h("span", { class: "err", id: id + "-e" })]));
      }
      fields.slice(0, 20).forEach(function (f, i) {
        var kind = String(f.kind || "text"), control, label = String(f.label || f.id);
        if (kind === "choice" || kind === "select") {
          control = h("select", { name: f.id }, [h("option", { value: "", text: t("choose") })].concat(
            (f.options || []).map(function (o) { return h("option", { value: String(o), text: String(o) }); })));
        } else if (kind === "textarea") {
          control = h("textarea", { name: f.id, rows: "2", maxlength: "1000" });
        } else if (kind === "checkbox") { // its label beside it; required: it must be ticked
          control = h("input", { name: f.id, type: "checkbox", value: "yes" });
        } else {
          control = h("input", { name: f.id, type: kind === "email" ? "email" : kind === "phone" ? "tel" : "text",
            maxlength: "200", autocomplete: kind === "email" ? "email" : kind === "phone" ? "tel" : "off" });
        }
        control.dataset.kind = kind;
        control.dataset.field = f.id;
        row("sb-f" + i, label, !!f.required, control);
      });
      if (mode) {
        var email = h("input", { name: "email", type: "email", maxlength: "254", autocomplete: "email",
          value: (state.identity && state.identity.email) || "" });
        email.dataset.kind = "email";
        row("sb-email", t("email"), mode === "required", email, fields.length ? t("email_why") : "");
      }
      el.introControls = controls;
      el.introErrors = h("p", { class: "errs", role: "alert" });
      rows.push(el.introErrors, h("button", { type: "submit", class: "btn", text: t("start") }));
      el.intro.replaceChildren.apply(el.intro, rows);
    }

    function submitIntro() {
      var answers = { prechat: {} }, bad = [];
      (el.introControls || []).forEach(function (c) {
        var value = c.el.type === "checkbox" ? c.el.checked : String(c.el.value || "").trim(), error = "";
        if (c.required && !value) error = t("error_required", { field: c.label });
        else if (value && c.el.dataset.kind === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
          error = t("error_email", { field: c.label });
        }
        root.getElementById(c.el.id + "-e").textContent = error;
        if (error) { c.el.setAttribute("aria-invalid", "true"); bad.push(c); } else c.el.removeAttribute("aria-invalid");
        if (!value) return;
        if (c.el.dataset.field) answers.prechat[c.el.dataset.field] = value;
        else answers.email = value;
      });
      if (bad.length) {
        el.introErrors.textContent = t("errors", { fields: bad.map(function (c) { return c.label; }).join(", ") });
        bad[0].el.focus();
        return;
      }
      el.introErrors.textContent = "";
      introDone(answers);
    }

    /** After the conversation closed: 1-5 (a radio group: arrow keys move, one tab stop) and a comment. */
    function buildRating() {
      if (el.rate.firstChild) return;
      var radios = [1, 2, 3, 4, 5].map(function (n) {
        var id = "sb-r" + n;
        return h("span", { class: "star" }, [
          h("input", { type: "radio", name: "score", value: String(n), id: id, "aria-label": t("rate_score", { n: n }) }),
          h("label", { for: id, text: String(n), "aria-hidden": "true" })]);
      });
      el.rateComment = h("textarea", { id: "sb-rc", rows: "2", maxlength: "1000" });
      el.rateError = h("p", { class: "errs", role: "alert" });
      el.rate.replaceChildren(
        h("fieldset", {}, [h("legend", { text: t("rate_question") }), h("div", { class: "stars" }, radios)]),
        h("label", { for: "sb-rc", text: t("rate_comment") }), el.rateComment, el.rateError,
        h("button", { type: "submit", class: "btn", text: t("rate_send") }));
    }

    function submitRating() {
      var picked = el.rate.querySelector("input[name=score]:checked");
      if (!picked) { el.rateError.textContent = t("rate_pick"); el.rate.querySelector("input").focus(); return; }
      el.rateError.textContent = "";
      rate(Number(picked.value), el.rateComment.value.trim()).then(function () {
        noticeText = t("rate_thanks");
        render();
        el.newBtn.focus();
      }, function () { el.rateError.textContent = t("rate_failed"); });
    }

    /** The follow-up address's editor: open (the field focused, the address in it) or closed
     *  (the focus back on its button). */
    function editMail(on) {
      el.mailForm.hidden = !on;
      el.mailBtn.hidden = !!on;
      el.mailErr.textContent = "";
      el.mailIn.removeAttribute("aria-invalid");
      if (on) { el.mailIn.value = channel.visitor_email || ""; el.mailIn.focus(); } else el.mailBtn.focus();
    }

    function saveMail() {
      var v = el.mailIn.value.trim();
      function bad(key) {
        el.mailErr.textContent = t(key, { field: t("email") });
        el.mailIn.setAttribute("aria-invalid", "true");
        el.mailIn.focus();
      }
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return bad("error_email");
      request("visitor.email", { channel_id: channel.id, email: v }).then(function (d) {
        setChannel(d.channel);
        editMail();
      }, function (e) { bad(e && e.code === "validation_error" ? "error_email" : "not_sent"); });
    }

    function confirming(on) {
      el.confirm.hidden = !on;
      if (on) el.keep.focus();
    }

    function applyTheme() {
      if (!el.wrap) return;
      relabel();
      var color = dataColor || validColor(theme.color) || "#3056d3"; // the page's data-color wins
      el.wrap.style.setProperty("--c", color);
      el.wrap.style.setProperty("--ci", inkOn(color));
      el.wrap.classList.toggle("left", theme.position === "left");
      el.title.textContent = theme.title;
      el.attach.hidden = !attachAllowed();
      render();
      status();
    }

    function attachAllowed() {
      return !!theme.attachments && (!state.scopes || state.scopes.indexOf("chat:attach") >= 0) &&
        !!(state.scopes && state.scopes.length);
    }

    function autosize() {
      // grows with what is written up to the CSS max-height; empty, it goes back to the CSS
      // height (in em: a px height left here would not follow a later font-size change)
      el.input.style.height = "";
      if (el.input.value) el.input.style.height = el.input.scrollHeight + 2 + "px";
    }

    function submit() {
      var text = el.input.value;
      if (!text.trim()) return;
      if (channel && channel.status === "closed") newConversation();
      el.input.value = "";
      autosize();
      send(text);
    }

    function fmtTime(ms) {
      try { return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
    }

    function render() {
      if (!el.log) return;
      var atBottom = el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 40;
      var items = [];
      var grew;
      items.push(h("li", { class: "greeting", text: theme.greeting }));
      messages.forEach(function (m) {
        var mine = isMine(m);
        var li = h("li", { class: (mine ? "mine" : "theirs") + (m.deleted ? " deleted" : ""), "data-id": m.id });
        if (!mine) li.appendChild(h("span", { class: "who", text: (m.sender && m.sender.name) || t("support") }));
        li.appendChild(document.createTextNode(m.deleted ? t("deleted") : m.text));
        (m.attachments || []).forEach(function (a) {
          li.appendChild(h("button", { type: "button", class: "att", text: "📎 " + (a.name || t("attachment")),
            "aria-label": t("download", { name: a.name || t("attachment") }), onclick: function () { openAttachment(m, a); } }));
        });
        var meta = fmtTime(m.created_at) + (mine && seenId && m.id <= seenId ? " · " + t("seen") : "");
        li.appendChild(h("span", { class: "meta", text: meta }));
        items.push(li);
      });
      (state.outbox || []).forEach(function (o) {
        var li = h("li", { class: "mine " + (o.failed ? "failed" : "pending"), "data-client-id": o.client_id },
          [document.createTextNode(o.text)]);
        if (o.failed) {
          li.appendChild(h("span", { class: "meta" }, [document.createTextNode(t("not_sent") + " "),
            h("button", { type: "button", text: t("retry"), onclick: function () { retryFailed(o.client_id); } })]));
        } else {
          li.appendChild(h("span", { class: "meta", text: t("sending") }));
        }
        items.push(li);
      });
      if (isOffline() && (!channel || channel.status === "queued")) {
        items.push(h("li", { class: "away", text: theme.away_message || t("away") }));
      }
      if (noticeText) items.push(h("li", { class: "sys", text: noticeText }));
      grew = items.length !== lastCount;
      el.list.replaceChildren.apply(el.list, items);
      if (atBottom || grew) el.log.scrollTop = el.log.scrollHeight;
      lastCount = items.length;
    }

    function status() {
      if (!el.status) return;
      var text = "", closed = channel && channel.status === "closed";
      if (!channel) text = t("reply_soon");
      else if (channel.status === "queued") text = t("waiting");
      else if (channel.status === "open" && channel.assignee) {
        var n = channel.assignee_name || names[channel.assignee];
        text = n ? t("chatting", { name: n }) : t("joined");
      } else if (closed) text = t("ended");
      el.status.textContent = text;
      el.closed.hidden = !closed;
      el.end.hidden = !channel || closed;
      if (el.end.hidden) el.confirm.hidden = true;
      var intro = introNeeded();
      if (intro) buildIntro();
      el.intro.hidden = !intro;
      el.form.hidden = !!closed || intro;
      var rating = mayRate();
      if (rating) buildRating();
      el.rate.hidden = !rating;
      var mailing = desk() && !!channel && !closed && !intro, a = mailing && channel.visitor_email;
      el.mail.hidden = !mailing;
      if (!mailing) el.mailForm.hidden = !(el.mailBtn.hidden = false); // the editor closed with the bar
      else {
        var q = a ? t("mail_at", { email: a }) : t("mail_none");
        if (el.mailQ.textContent !== q) el.mailQ.textContent = q; // (the status is announced when it changes)
        el.mailBtn.textContent = t(a ? "mail_change" : "mail_add");
      }
      el.attach.hidden = !attachAllowed() || !channel;
      el.wrap.setAttribute("data-status", channel ? channel.status : "none");
    }

    function typing(user) {
      clearTimeout(typingTimer);
      if (!user) { el.typing.hidden = true; return; }
      el.typing.textContent = t("typing", { name: user.name || t("support") });
      el.typing.hidden = false;
      typingTimer = setTimeout(function () { el.typing.hidden = true; }, TYPING_SHOWN_MS);
    }

    function badge(n) {
      el.badge.hidden = n <= 0;
      el.badge.textContent = n > 99 ? "99+" : String(n);
      if (open) return; // while the panel is open the launcher closes it: its name stays "Close chat"
      el.launcher.setAttribute("aria-label", n > 1 ? t("unread_many", { n: n }) : n === 1 ? t("unread_one") : t("open"));
    }

    function show() {
      if (open) return;
      open = true;
      el.panel.hidden = false;
      el.wrap.classList.add("open");
      el.launcher.setAttribute("aria-expanded", "true");
      el.launcher.setAttribute("aria-label", t("close"));
      modal();
      render();
      focusInput();
      if (hasSession() || (state.outbox || []).length) start();
      markRead();
      emit("open");
    }

    function close() {
      if (!open) return;
      open = false;
      el.confirm.hidden = true;
      el.panel.hidden = true;
      el.wrap.classList.remove("open");
      el.launcher.setAttribute("aria-expanded", "false");
      badge(unread);
      // focus that was in the widget goes back to the launcher; a page's own close() keeps its own
      if (root.activeElement) el.launcher.focus();
      emit("close");
    }

    function toggle() { if (open) close(); else show(); }

    function focusInput() {
      setTimeout(function () {
        if (el.input && !el.form.hidden) el.input.focus();
        else if (el.intro && !el.intro.hidden) { var first = el.intro.querySelector("input, select, textarea"); if (first) first.focus(); }
      }, 0);
    }

    /** After the conversation ended: the focus goes to "New conversation" (the end button is gone). */
    function ended() {
      if (open && !el.closed.hidden) el.newBtn.focus();
    }

    return {
      mount: mount, applyTheme: applyTheme, ready: ready, ended: ended, render: render, status: status, typing: typing, badge: badge,
      open: show, close: close, toggle: toggle, isOpen: function () { return open; }, focusInput: focusInput,
      readSent: null,
      confirmEnd: function () { confirming(true); },
      seen: function (id) { if (!seenId || id > seenId) { seenId = id; render(); } },
      notice: function (text) { noticeText = text; render(); },
      connection: function (up) {
        if (up) noticeText = null;
        if (el.offline) el.offline.hidden = up || !wanted || !open;
      },
    };
  })();

  function loadTheme() {
    return fetch(CFG.api + "/tenants/" + encodeURIComponent(CFG.tenant) + "/widget", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (got) {
        if (!got) return;
        if (got.locales && got.locales.length) LOCALE = pickLocale(got.locales);
        // the server's default greeting is the catalogue's English one: shown in the visitor's language
        if (got.greeting === STRINGS.en.greeting) got.greeting = t("greeting");
        Object.assign(theme, got);
        ui.applyTheme();
      })
      .catch(function () { /* the defaults stay */ })
      .then(ui.ready);
  }

  // -- the page API -----------------------------------------------------------------------
  var api_ = {
    __switchboard: true,
    version: "1",
    identify: identify,
    open: function () { ui.open(); return api_; },
    close: function () { ui.close(); return api_; },
    toggle: function () { ui.toggle(); return api_; },
    logout: logout,
    on: on,
    off: off,
    unread: function () { return unread; },
  };

  function boot() {
    ui.mount();
    loadTheme();
    window.addEventListener("storage", function (e) {
      // another tab signed out (or in as someone else): follow it
      if (e.key !== STORE_KEY) return;
      var other = load();
      if (!other && hasSession()) { disconnect(); state = {}; resetConversation(); }
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && ui.isOpen()) markRead();
    });
    window.addEventListener("online", function () { if (wanted) { attempts = 0; connect(); } });
    var resuming = resumeFromLink();
    watchNavigation();
    var queued = existing && existing.q ? existing.q : [];
    window.Switchboard = api_;
    queued.forEach(function (call) {
      var fn = api_[call[0]];
      if (typeof fn === "function") fn.apply(api_, Array.prototype.slice.call(call, 1));
    });
    // a returning visitor with a conversation: reconnect now, so replies and the badge arrive
    if (!resuming && hasSession() && (state.channel_id || (state.outbox || []).length)) start();
    scheduleRefresh();
    emit("ready");
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
