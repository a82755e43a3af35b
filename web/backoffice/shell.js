// The signed-in page: the header (tenant, connection, who, Sign out), the navigation, and the
// view the URL's #/view/id names.

import { auth } from "./api.js";
import { deskControls } from "./desk.js";
import { $, h, setConnection } from "./dom.js";
import { languageLinks, t } from "./i18n.js";
import { chat } from "./socket.js";
import { isAdmin, me } from "./state.js";
import { renderCanned } from "./views/canned.js";
import { renderDevice } from "./views/device.js";
import { renderEvents } from "./views/events.js";
import { renderChatView } from "./views/inbox.js";
import { renderOperators } from "./views/operators.js";
import { renderReports } from "./views/reports.js";
import { renderSecurity } from "./views/security.js";
import { renderSessions } from "./views/sessions.js";
import { renderSettings } from "./views/settings.js";
import { signOut } from "./views/signin.js";

function route() {
  const [view, id] = location.hash.replace(/^#\/?/, "").split("/");
  return { view: view || "inbox", id: id || null };
}

/** The signed-in page for the URL's view. ``focus``: after a navigation (a link, a sign-in) the
 * focus goes to the new view's heading - the conversation's title when one is open - so a
 * keyboard or screen-reader user starts there, not on a <body> the old view left behind. */
export function renderApp({ focus = false } = {}) {
  const { view, id } = route();
  const user = me();
  const nav = [
    ["inbox", t("nav.inbox")], ["team", t("nav.team")], ["security", t("nav.security")],
    ...(isAdmin() ? [["operators", t("nav.operators")], ["sessions", t("nav.sessions")], ["events", t("nav.events")],
      ["reports", t("nav.reports")], ["settings", t("nav.settings")], ["canned", t("nav.canned")]]
      : [["sessions", t("nav.sessions")]]),
  ];
  const app = $("#app");
  app.removeAttribute("aria-busy");
  app.replaceChildren(
    h("header", { class: "top" },
      h("span", { class: "brand", text: "Switchboard" }),
      h("span", { class: "tenant", text: auth.tokens.tenant || "" }),
      h("span", { id: "conn", class: "conn down", role: "status", text: t("conn.connecting") }),
      h("span", { class: "spacer" }),
      deskControls(),
      languageLinks(),
      h("span", { class: "who", id: "who", text: `${user.name} (${t(`role.${user.role}`)})` }),
      // (a button's text never wraps, style.css; on a narrow screen the header wraps whole items)
      h("button", { type: "button", text: t("signout"), onclick: () => signOut(false) })),
    h("div", { class: "body" },
      h("nav", { "aria-label": t("nav.label") }, h("ul", {}, nav.map(([key, label]) =>
        h("li", {}, h("a", { href: `#/${key}`, "aria-current": key === view ? "page" : false, text: label }))))),
      h("main", { id: "main", tabindex: "-1" })));
  setConnection(!!(chat.ws && chat.ws.readyState === 1));
  const main = $("#main");
  if (view === "inbox" || view === "team") renderChatView(main, view, id);
  else if (view === "operators" && isAdmin()) renderOperators(main);
  else if (view === "sessions") renderSessions(main);
  else if (view === "events" && isAdmin()) renderEvents(main);
  else if (view === "reports" && isAdmin()) renderReports(main);
  else if (view === "settings" && isAdmin()) renderSettings(main);
  else if (view === "canned" && isAdmin()) renderCanned(main);
  else if (view === "security") renderSecurity(main);
  else if (view === "device") renderDevice(main, id);  // a `switchboard login` code to approve
  else renderChatView(main, "inbox", null);
  if (focus) focusView();
}

/** Focus the view's heading: the open conversation's title, else the view's h1. */
export function focusView() {
  const target = $("#conv-title") || $("#main h1");
  if (target) target.focus({ preventScroll: false });
}
