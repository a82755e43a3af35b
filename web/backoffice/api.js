// The HTTP API: calls (raw, and call with the access token), the tokens of this tab's session and
// their renewal, and the Web Lock that keeps one session to one tab.

import { CFG } from "./config.js";
import { t } from "./i18n.js";

const REFRESH_MARGIN_MS = 60_000;

// What a session that ended (a 401 no renewal fixes) does to the page: main.js sets it to the
// sign-in page's signedOut, given here rather than imported so the views stay above this module.
let sessionEnded = () => {};

/** Sets what a session that ended does to the page (once, at boot). */
export function onSessionEnd(fn) {
  sessionEnded = fn;
}

export function claims(jwt) {
  try {
    let part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || t("api.failed", { status }));
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

export function holdSession(sid) {
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

export const auth = {
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
        if (err.status === 401) sessionEnded(t("api.ended"));
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

export async function raw(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(CFG.api + path, {
      method, headers, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: "unavailable", detail: t("api.unreachable") });
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/** An authenticated GET answered as text (the reports' CSV: ``Accept: text/csv``). */
export async function download(path, accept) {
  const t = await auth.valid();
  let r;
  try {
    r = await fetch(CFG.api + path, { headers: { authorization: `Bearer ${t.access_token}`, accept }, credentials: "omit" });
  } catch {
    throw new ApiError(0, { code: "unavailable", detail: t("api.unreachable") });
  }
  const text = await r.text();
  if (!r.ok) {
    let data = null;
    try { data = JSON.parse(text); } catch { data = null; }
    throw new ApiError(r.status, data);
  }
  return text;
}

/** An authenticated call; a 401 is retried once after a refresh, then signs the page out. */
export async function call(method, path, body) {
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
        if (again.status === 401) sessionEnded(t("api.ended"));
        throw again;
      }
    }
    sessionEnded(err.code === "session_revoked" ? t("api.signed_out") : t("api.ended"));
    throw err;
  }
}
