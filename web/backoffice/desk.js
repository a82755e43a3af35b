// An operator's day beside the inbox: Online/Away (presence.set), desktop notifications (asked
// for only when the operator clicks, never on load), a sound they can turn off, and the unread
// count in the tab's title. The inbox's event handler calls notice() for what deserves a call.

import { h, toast } from "./dom.js";
import { t } from "./i18n.js";
import { chat } from "./socket.js";
import { S } from "./state.js";

const SOUND_KEY = "switchboard:backoffice:sound";
const PRESENCE_KEY = "switchboard:backoffice:presence";
const BASE_TITLE = document.title;

export const desk = {
  presence: readStored(PRESENCE_KEY, "online"),
  sound: readStored(SOUND_KEY, "on") === "on",
};

function readStored(key, fallback) {
  try { return localStorage.getItem(key) || fallback; } catch { return fallback; }
}
function store(key, value) {
  try { localStorage.setItem(key, value); } catch { /* this page only */ }
}

/** The header's controls: status, notifications, sound. */
export function deskControls() {
  const presence = h("select", { id: "presence", "aria-label": t("presence"), onchange: () => setPresence(presence.value) },
    h("option", { value: "online", text: t("online"), selected: desk.presence === "online" }),
    h("option", { value: "away", text: t("away"), selected: desk.presence === "away" }));
  const notify = h("button", { type: "button", id: "notify", onclick: askPermission });
  const sound = h("button", { type: "button", id: "sound", "aria-pressed": String(desk.sound), text: t("sound"),
    onclick: () => {
      desk.sound = !desk.sound;
      store(SOUND_KEY, desk.sound ? "on" : "off");
      sound.setAttribute("aria-pressed", String(desk.sound));
    } });
  paintNotify(notify);
  return h("div", { class: "desk-controls" }, presence, notify, sound);
}

function paintNotify(button) {
  const state = "Notification" in window ? Notification.permission : "denied";
  button.textContent = state === "granted" ? t("notify.on") : state === "denied" ? t("notify.blocked") : t("notify.enable");
  button.disabled = state !== "default";
}

/** Asked from a click only: browsers (and people) refuse a permission prompt on page load. */
async function askPermission() {
  if (!("Notification" in window)) return;
  try { await Notification.requestPermission(); } catch { /* old browsers: the callback form */ }
  const button = document.getElementById("notify");
  if (button) paintNotify(button);
}

/** Online or Away: away staff get no new chats (the server's rule); sent again on reconnect. */
export async function setPresence(status) {
  desk.presence = status;
  store(PRESENCE_KEY, status);
  try {
    await chat.request("presence.set", { status });
  } catch (err) {
    if (err.code !== "disconnected") toast(`${t("presence")}: ${err.message || err.code}`, "error");
  }
}

/** After each (re)connection: the server hears the operator's chosen status. */
export function sendPresence() {
  chat.request("presence.set", { status: desk.presence }).catch(() => {});
}

/** A new queued chat, a chat assigned to me, a message in a chat of mine while the tab is hidden. */
export function notice(kind, { title, body = "", channelId } = {}) {
  if (desk.sound) beep();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (kind === "message" && !document.hidden) return;
  try {
    const n = new Notification(title || t(`notify.${kind}`), { body, tag: `${kind}:${channelId || ""}` });
    n.onclick = () => { window.focus(); if (channelId) location.hash = `#/inbox/${channelId}`; n.close(); };
  } catch { /* a browser that only notifies from a service worker: the sound and the title remain */ }
}

let audio = null;
/** A short tone made on the spot (Web Audio): no sound file to fetch, nothing for the CSP to allow. */
function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch { /* no audio: the notification and the title remain */ }
}

/** The tab's title carries the unread count: "(3) Switchboard back office". */
export function paintTitle() {
  let n = 0;
  for (const v of S.unread.values()) n += v;
  document.title = n ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
}
