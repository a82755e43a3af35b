// Approving a device sign-in (RFC 8628): the `switchboard login` command shows a code and this
// page's link; an admin approves it here, and the command line is signed in as that admin.

import { call } from "../api.js";
import { h } from "../dom.js";
import { isAdmin, me } from "../state.js";
import { t } from "../i18n.js";

export function renderDevice(main, code) {
  if (!isAdmin()) {
    main.replaceChildren(h("section", { class: "page" }, h("h1", { text: t("dev.title") }),
      h("p", { text: t("dev.admin_only") })));
    return;
  }
  const user = me();
  const input = h("input", { id: "device-code", required: true, maxlength: "12", autocomplete: "off",
    value: code ? decodeURIComponent(code) : "" });
  const msg = h("p", { role: "status", id: "device-status" });
  const decide = (action) => async () => {
    try {
      const r = await call("POST", "/auth/device/approve", { user_code: input.value.trim(), action });
      msg.textContent = r.approved
        ? t("dev.approved", { code: r.user_code })
        : t("dev.denied", { code: r.user_code });
    } catch (err) {
      msg.textContent = err.status === 404 ? t("dev.no_code")
        : err.message;
    }
  };
  main.replaceChildren(h("section", { class: "page" }, h("h1", { text: t("dev.title") }),
    h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); decide("approve")(); } },
      h("p", { text: t("dev.only_yours", { name: user.name }) }),
      h("label", { for: "device-code", text: t("dev.code") }), input,
      h("button", { type: "submit", class: "primary", text: t("dev.approve") }),
      h("button", { type: "button", text: t("dev.deny"), onclick: decide("deny") }), msg)));
}
