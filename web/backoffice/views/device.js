// Approving a device sign-in (RFC 8628): the `switchboard login` command shows a code and this
// page's link; an admin approves it here, and the command line is signed in as that admin.

import { call } from "../api.js";
import { h } from "../dom.js";
import { isAdmin, me } from "../state.js";

export function renderDevice(main, code) {
  if (!isAdmin()) {
    main.replaceChildren(h("section", { class: "page" }, h("h1", { text: "Sign in a device" }),
      h("p", { text: "Only an admin can approve a command line sign-in." })));
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
        ? `Approved: the command line showing ${r.user_code} is now signed in as you.`
        : `Denied: the command line showing ${r.user_code} stays signed out.`;
    } catch (err) {
      msg.textContent = err.status === 404 ? "No such code, or it expired or was already used. Start again."
        : err.message;
    }
  };
  main.replaceChildren(h("section", { class: "page" }, h("h1", { text: "Sign in a device" }),
    h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); decide("approve")(); } },
      h("p", { text: `Approve only a code that your own terminal shows. Approving signs that command line in as you (${user.name}, admin).` }),
      h("label", { for: "device-code", text: "Code shown by the command line" }), input,
      h("button", { type: "submit", class: "primary", text: "Approve" }),
      h("button", { type: "button", text: "Deny", onclick: decide("deny") }), msg)));
}
