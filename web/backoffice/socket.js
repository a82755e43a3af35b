// The WebSocket client: one connection to the chat API, requests matched to their replies by rid,
// events handed to onEvent, and reconnection with backoff (a closed socket asks the API whether
// the session still stands).

import { auth, call } from "./api.js";
import { CFG } from "./config.js";
import { setConnection } from "./dom.js";

export const chat = {
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
