// Your account's security: two-step verification (set up, turn off) and the password.

import { auth, call } from "../api.js";
import { h, toast } from "../dom.js";
import { t } from "../i18n.js";

export function renderSecurity(main) {
  const area = h("div", { class: "card" });
  const mfa = auth.me && auth.me.user && auth.me.user.mfa_enabled;
  const start = h("button", { type: "button", class: "primary", id: "totp-enroll", text: t("sec.setup"),
    onclick: async () => {
      try {
        const e = await call("POST", "/auth/totp/enroll");
        const code = h("input", { id: "totp-code", inputmode: "numeric", maxlength: "6", pattern: "[0-9]{6}", required: true });
        const msg = h("p", { role: "status" });
        area.replaceChildren(
          h("p", { text: t("sec.scan") }),
          e.qr_svg ? h("img", { class: "qr", alt: t("sec.qr"),
            src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(e.qr_svg) }) : null,
          h("p", {}, t("sec.secret"), h("code", { id: "totp-secret", text: e.secret })),
          h("form", { onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              const on = await call("POST", "/auth/totp/confirm", { code: code.value.trim() });
              const ended = on && on.revoked_sessions > 0
                ? t("sec.others_out", { n: on.revoked_sessions }) : "";
              msg.textContent = t("sec.on") + ended;
              toast(t("sec.on"));
              if (on && Array.isArray(on.recovery_codes)) {
                // shown this once: the server keeps only their digests
                area.append(h("div", { class: "card", id: "recovery-codes", "aria-labelledby": "recovery-title" },
                  h("h3", { id: "recovery-title", text: t("sec.codes_title") }),
                  h("p", { text: t("sec.codes_hint") }),
                  h("ol", { class: "codes" }, on.recovery_codes.map((c) => h("li", {}, h("code", { text: c }))))));
              }
            } catch (err) { msg.textContent = err.code === "invalid_mfa" ? t("sec.bad_code") : err.message; }
          } }, h("label", { for: "totp-code", text: t("sec.code_from_app") }), code,
          h("button", { type: "submit", class: "primary", text: t("sec.turn_on") })), msg);
        code.focus();
      } catch (err) {
        toast(err.status === 404 ? t("sec.unavailable") : err.message, "error");
      }
    } });
  const code = h("input", { id: "totp-off-code", inputmode: "numeric", maxlength: "6", "aria-label": t("sec.current_code") });
  const off = h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await call("POST", "/auth/totp/disable", { code: code.value.trim() });
      toast(t("sec.off"));
    } catch (err) { toast(err.code === "invalid_mfa" ? t("sec.bad_code") : err.message, "error"); }
  } }, h("span", { text: t("sec.turn_it_off") }), code, h("button", { type: "submit", text: t("sec.turn_off") }));
  area.replaceChildren(h("p", { text: mfa === true ? t("sec.on") :
    t("sec.protect") }), start, off);
  const cur = h("input", { id: "pw-current", type: "password", required: true, autocomplete: "current-password" });
  const next = h("input", { id: "pw-new", type: "password", required: true, minlength: "8", autocomplete: "new-password" });
  const pwForm = h("form", { class: "card", "aria-labelledby": "pw-title", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await call("POST", "/auth/password", { current_password: cur.value, new_password: next.value });
      pwForm.reset();
      toast(t("sec.pw_changed"));
    } catch (err) {
      toast(err.code === "invalid_credentials" ? t("sec.pw_wrong") : err.message, "error");
    }
  } }, h("h2", { id: "pw-title", text: t("sec.change_pw") }),
  h("div", { class: "fields" }, h("label", {}, t("sec.current_pw"), cur), h("label", {}, t("password.new"), next)),
  h("button", { type: "submit", text: t("sec.change_pw") }));
  main.replaceChildren(h("section", { class: "page" }, h("h1", { tabindex: "-1", text: t("nav.security") }),
    h("h2", { text: t("mfa.title") }), area, h("p"), pwForm));
}
