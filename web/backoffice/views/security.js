// Your account's security: two-step verification (set up, turn off) and the password.

import { auth, call } from "../api.js";
import { h, toast } from "../dom.js";

export function renderSecurity(main) {
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
              if (on && Array.isArray(on.recovery_codes)) {
                // shown this once: the server keeps only their digests
                area.append(h("div", { class: "card", id: "recovery-codes", "aria-labelledby": "recovery-title" },
                  h("h3", { id: "recovery-title", text: "Your recovery codes" }),
                  h("p", { text: "Keep these somewhere safe, apart from your phone. If you lose your authenticator "
                    + "app, sign in with one of them instead of a code. Each works once; they are shown only now." }),
                  h("ol", { class: "codes" }, on.recovery_codes.map((c) => h("li", {}, h("code", { text: c }))))));
              }
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
  main.replaceChildren(h("section", { class: "page" }, h("h1", { tabindex: "-1", text: "Security" }),
    h("h2", { text: "Two-step verification" }), area, h("p"), pwForm));
}
