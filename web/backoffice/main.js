// Switchboard back office: plain static files, native ES modules, no build step. Talks to the HTTP
// API (sign-in, admin, the staff directory) and the WebSocket API (the chat), and to S3 for
// attachments. The module map is in docs/web.md ("The back office's files").
//
// This module boots the page: it reads where the APIs are (config.js), resumes this tab's session
// or shows the sign-in, starts the app once signed in, and wires what the lower modules hand up
// (a session that ended, a sign-in) so that none of them imports the views.

import { auth, call, claims, holdSession, onSessionEnd } from "./api.js";
import { loadConfig } from "./config.js";
import { sendPresence } from "./desk.js";
import { renderApp } from "./shell.js";
import { chat } from "./socket.js";
import { S, isAdmin, loadStaff, me } from "./state.js";
import { markRead } from "./views/conversation.js";
import { onChatEvent, syncInbox } from "./views/inbox.js";
import { loadOperators } from "./views/operators.js";
import { afterSignIn, finishSingleSignOn, renderInvite, renderReset, renderSignIn, signedOut } from "./views/signin.js";
import { t } from "./i18n.js";

/** The signed-in page: who this is, then the shell, the chat connection and the directories. */
async function start({ focus = false } = {}) {
  try {
    auth.me = await call("GET", "/auth/me");
  } catch {
    if (!auth.tokens) return; // signed out already
  }
  if (me() && me().role === "visitor") {
    signedOut(t("main.staff_only"));
    return;
  }
  S.channels.clear(); S.last.clear(); S.unread.clear(); S.watched.clear(); S.current = null;
  if (!location.hash) location.hash = "#/inbox";
  renderApp({ focus });
  chat.onEvent = onChatEvent;
  chat.onOpen = () => { sendPresence(); syncInbox(); };
  chat.connect();
  if (isAdmin()) loadOperators().catch(() => {});
  loadStaff().catch(() => {});
}

onSessionEnd(signedOut);
afterSignIn(() => start({ focus: true }));
window.addEventListener("hashchange", () => { if (auth.tokens) renderApp({ focus: true }); });
document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });

(async function boot() {
  await loadConfig();
  const invite = location.hash.match(/^#\/invite\/([^/?#]+)/);
  const reset = location.hash.match(/^#reset=([^/?#&]+)/);  // a password reset link (mailed)
  if (/^#(code|error)=/.test(location.hash)) {
    await finishSingleSignOn(); // back from the identity provider
  } else if (invite) {
    renderInvite(decodeURIComponent(invite[1]));
  } else if (reset) {
    renderReset(decodeURIComponent(reset[1]));
  } else if (auth.load()) {
    if (await holdSession(claims(auth.tokens.access_token).sid)) {
      auth.schedule();
      await start();
    } else { // a copy of another open tab's session: that tab keeps it (see holdSession)
      auth.clear();
      renderSignIn(t("main.other_tab"));
    }
  } else {
    renderSignIn();
  }
})();

// exposed for debugging and tests
window.switchboardBackoffice = { S, auth, chat };
