// Signing in and out: the sign-in form (and its "Sign in with <provider>" buttons), the two-step
// code, accepting an invitation (setting a password), finishing a single sign-on, and what signing
// in or out does to the page. What a sign-in leads to (the app
// itself) is given by main.js through afterSignIn, so this module needs none of the other views.

import { auth, call, claims, raw } from "../api.js";
import { CFG } from "../config.js";
import { $, h } from "../dom.js";
import { chat } from "../socket.js";
import { S } from "../state.js";
import { languageLinks, t } from "../i18n.js";

// What a sign-in leads to: main.js's start (the app), given rather than imported, since the app's
// views import this module (Sign out, a revoked session).
let whenSignedIn = async () => {};

/** Sets what a sign-in leads to (once, at boot). */
export function afterSignIn(fn) {
  whenSignedIn = fn;
}

/** A step of signing in (password, then maybe the code), as a form: while ``attempt`` runs its
 * button is disabled and the last error cleared; a refusal enables the button again and goes to
 * ``refused`` to be told (or to lead to the next step). */
function signInStep(labelledBy, submit, err, attempt, refused, ...children) {
  return h("form", { class: "card signin", "aria-labelledby": labelledBy, onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.textContent = "";
    try {
      await attempt();
    } catch (ex) {
      submit.disabled = false;
      refused(ex);
    }
  } }, ...children);
}

export function renderSignIn(message) {
  const app = $("#app");
  app.removeAttribute("aria-busy");
  const err = h("p", { class: "error", role: "alert", id: "signin-error", text: message || "" });
  const tenant = h("input", { id: "tenant", name: "tenant", required: true, value: CFG.tenant, autocomplete: "organization" });
  const email = h("input", { id: "email", name: "email", type: "email", required: true, autocomplete: "username" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
    autocomplete: "current-password" });
  const submit = h("button", { type: "submit", class: "primary", text: t("signin.submit") });
  const form = signInStep("signin-title", submit, err, async () => {
    const bundle = await raw("POST", "/auth/internal", { tenant: tenant.value.trim(), email: email.value.trim(),
      password: password.value, device_token: localStorage.getItem("sb.device") || undefined });
    await signedIn(bundle, tenant.value.trim());
  }, (ex) => {
    if (ex.code === "mfa_required" && ex.body && ex.body.mfa_token) {
      renderMfa(ex.body.mfa_token, tenant.value.trim());
      return;
    }
    err.textContent = ex.code === "invalid_credentials" ? t("signin.wrong") : ex.message;
    password.focus();
  },
  h("h1", { id: "signin-title", text: t("signin.title") }),
  h("p", { class: "muted", text: t("signin.intro") }),
  h("label", { for: "tenant", text: t("signin.tenant") }), tenant,
  h("label", { for: "email", text: t("signin.email") }), email,
  h("label", { for: "password", text: t("signin.password") }), password,
  err, submit,
  h("button", { type: "button", class: "link", text: t("signin.forgot"),
    onclick: () => renderForgot(tenant.value.trim(), email.value.trim()) }));
  const sso = h("nav", { class: "sso", "aria-label": t("signin.sso") });
  app.replaceChildren(h("main", { id: "main", class: "centered" }, languageLinks(), form, sso));
  tenant.addEventListener("change", () => showProviders(sso, tenant.value.trim()));
  showProviders(sso, tenant.value.trim());
  email.focus();
}

/** A "Sign in with <provider>" button for each SSO provider the tenant lists
 * (GET /auth/providers): it sends this tab to the provider, which sends it back here with
 * #code= (finishSingleSignOn). */
async function showProviders(nav, tenant) {
  nav.replaceChildren();
  if (!tenant) return;
  let listed;
  try {
    listed = await raw("GET", `/auth/providers?tenant=${encodeURIComponent(tenant)}`);
  } catch { return; } // an unknown tenant: the password form says so when used
  const back = location.origin + location.pathname; // return_to: one of the tenant's allowed origins
  for (const p of listed.providers || []) {
    nav.append(h("button", { type: "button", class: "sso-button", text: t("signin.with", { name: p.name }),
      onclick: () => {
        sessionStorage.setItem("sb.config", JSON.stringify({ tenant }));
        location.assign(`${CFG.api}/auth/oidc/${encodeURIComponent(p.id)}/authorize?`
          + new URLSearchParams({ tenant, return_to: back }));
      } }));
  }
}

const SSO_ERRORS = {
  not_invited: "sso.not_invited",
  email_not_verified: "sso.email_not_verified",
  access_denied: "sso.access_denied",
  invalid_state: "sso.invalid_state",
  invalid_identity: "sso.invalid_identity",
  temporarily_unavailable: "sso.temporarily_unavailable",
};

/** The provider sent this tab back: #code=<one-time code> is swapped for this tab's session
 * (POST /auth/oidc/complete; our tokens never travel in a URL), #error=<code> is told. The
 * fragment is dropped from the address bar and history first. True if there was one. */
export async function finishSingleSignOn() {
  const got = new URLSearchParams(location.hash.slice(1));
  const code = got.get("code");
  const error = got.get("error");
  if (!code && !error) return false;
  history.replaceState(null, "", location.pathname + location.search);
  if (error) {
    renderSignIn(t(Object.hasOwn(SSO_ERRORS, error) ? SSO_ERRORS[error] : "sso.failed"));
    return true;
  }
  try {
    const bundle = await raw("POST", "/auth/oidc/complete", { code });
    await signedIn(bundle, claims(bundle.access_token).tid || CFG.tenant);
  } catch {
    renderSignIn(t("sso.used"));
  }
  return true;
}

// Forgot password: the API answers the same whatever the address (no telling who is an operator),
// so the page does too.
function renderForgot(tenantValue, emailValue) {
  const err = h("p", { class: "error", role: "alert" });
  const done = h("p", { role: "status", id: "forgot-status" });
  const tenant = h("input", { id: "forgot-tenant", required: true, value: tenantValue || CFG.tenant,
    autocomplete: "organization" });
  const email = h("input", { id: "forgot-email", type: "email", required: true, value: emailValue || "",
    autocomplete: "username" });
  const submit = h("button", { type: "submit", class: "primary", text: t("forgot.send") });
  const form = signInStep("forgot-title", submit, err, async () => {
    await raw("POST", "/auth/password/forgot", { tenant: tenant.value.trim(), email: email.value.trim() });
    done.textContent = t("forgot.sent");
    submit.disabled = false;
  }, (ex) => {
    err.textContent = ex.status === 429 ? t("too_many") : ex.message;
  },
  h("h1", { id: "forgot-title", text: t("forgot.title") }),
  h("p", { class: "muted", text: t("forgot.intro") }),
  h("label", { for: "forgot-tenant", text: t("signin.tenant") }), tenant,
  h("label", { for: "forgot-email", text: t("signin.email") }), email, err, done, submit,
  h("button", { type: "button", class: "link", text: t("forgot.back"), onclick: () => renderSignIn() }));
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, languageLinks(), form));
  email.focus();
}

/** The page a reset link opens (``#reset=<token>``): choose a new password, then sign in with it. */
export function renderReset(token) {
  const err = h("p", { class: "error", role: "alert" });
  const pw = h("input", { id: "reset-password", type: "password", minlength: "10", required: true,
    autocomplete: "new-password" });
  const pw2 = h("input", { id: "reset-password-2", type: "password", minlength: "10", required: true,
    autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "primary", text: t("reset.submit") });
  const form = signInStep("reset-title", submit, err, async () => {
    if (pw.value !== pw2.value) { submit.disabled = false; err.textContent = t("password.differ"); return; }
    await raw("POST", "/auth/password/reset", { token, password: pw.value });
    history.replaceState(null, "", location.pathname + location.search);  // the link is spent: out of the address bar
    renderSignIn(t("reset.done"));
  }, (ex) => {
    err.textContent = ex.code === "invalid_token"
      ? t("reset.invalid")
      : ex.code === "validation_error" ? t("reset.short") : ex.message;
  },
  h("h1", { id: "reset-title", text: t("reset.title") }),
  h("label", { for: "reset-password", text: t("password.new") }), pw,
  h("label", { for: "reset-password-2", text: t("password.repeat") }), pw2, err, submit);
  $("#app").removeAttribute("aria-busy");
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, languageLinks(), form));
  pw.focus();
}

function renderMfa(mfaToken, tenant) {
  const err = h("p", { class: "error", role: "alert" });
  const code = h("input", { id: "code", name: "code", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", required: true });
  const submit = h("button", { type: "submit", class: "primary", text: t("mfa.verify") });
  // a recovery code (shown once when two-step verification was turned on) in place of the app's code
  let recovery = false;
  const hint = h("p", { class: "muted", text: t("mfa.hint") });
  const label = h("label", { for: "code", text: t("mfa.code") });
  const toggle = h("button", { type: "button", class: "link", text: t("mfa.use_recovery"),
    onclick: () => {
      recovery = !recovery;
      code.value = "";
      if (recovery) {
        code.removeAttribute("pattern"); code.setAttribute("maxlength", "24"); code.setAttribute("inputmode", "text");
        code.setAttribute("autocomplete", "off");
      } else {
        code.setAttribute("pattern", "[0-9]{6}"); code.setAttribute("maxlength", "6");
        code.setAttribute("inputmode", "numeric"); code.setAttribute("autocomplete", "one-time-code");
      }
      label.textContent = recovery ? t("mfa.recovery") : t("mfa.code");
      hint.textContent = recovery ? t("mfa.recovery_hint")
        : t("mfa.hint");
      toggle.textContent = recovery ? t("mfa.use_app") : t("mfa.use_recovery");
      code.focus();
    } });
  const form = signInStep("mfa-title", submit, err, async () => {
    const body = recovery ? { mfa_token: mfaToken, recovery_code: code.value.trim() }
      : { mfa_token: mfaToken, code: code.value.trim() };
    const bundle = await raw("POST", "/auth/mfa", body);
    await signedIn(bundle, tenant);
  }, (ex) => {
    err.textContent = ex.code === "invalid_mfa"
      ? (recovery ? t("mfa.bad_recovery") : t("mfa.bad_code"))
      : ex.message;
    if (ex.code === "invalid_token" || ex.code === "validation_error") {
      err.textContent += t("mfa.again");
    }
    code.select();
  },
  h("h1", { id: "mfa-title", text: t("mfa.title") }),
  hint, label, code, err, submit, toggle,
  h("button", { type: "button", class: "link", text: t("back"), onclick: () => renderSignIn() }));
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, languageLinks(), form));
  code.focus();
}

async function signedIn(bundle, tenant) {
  // this device is now one the account signed in from: strangers cannot refuse its next sign-in
  if (bundle.device_token) localStorage.setItem("sb.device", bundle.device_token);
  auth.adopt(bundle, tenant);
  CFG.tenant = tenant;
  sessionStorage.setItem("sb.config", JSON.stringify({ tenant }));
  await whenSignedIn();
}

export function signedOut(message) {
  if (!auth.tokens && !chat.wanted) return;
  chat.close();
  auth.clear();
  S.current = null;
  history.replaceState(null, "", location.pathname + location.search);
  renderSignIn(message);
}

export async function signOut(everywhere) {
  try {
    await call("POST", "/auth/revoke", everywhere ? { kind: "user" } : { kind: "session" });
  } catch { /* signed out locally anyway */ }
  signedOut(everywhere ? t("signedout.everywhere") : t("signedout"));
}

export function renderInvite(token) {
  const err = h("p", { class: "error", role: "alert" });
  const pw = h("input", { id: "new-password", type: "password", minlength: "8", required: true, autocomplete: "new-password" });
  const pw2 = h("input", { id: "new-password-2", type: "password", minlength: "8", required: true, autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "primary", text: t("invite.submit") });
  const form = h("form", { class: "card signin", "aria-labelledby": "invite-title", onsubmit: async (e) => {
    e.preventDefault();
    if (pw.value !== pw2.value) { err.textContent = t("password.differ"); return; }
    submit.disabled = true;
    try {
      const bundle = await raw("POST", "/auth/invite", { invite_token: token, password: pw.value });
      history.replaceState(null, "", location.pathname + location.search);
      await signedIn(bundle, claims(bundle.access_token).tid || CFG.tenant);
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 404
        ? t("invite.invalid") : ex.message;
      submit.disabled = false;
    }
  } },
  h("h1", { id: "invite-title", text: t("invite.title") }),
  h("p", { class: "muted", text: t("invite.intro") }),
  h("label", { for: "new-password", text: t("password.new") }), pw,
  h("label", { for: "new-password-2", text: t("password.repeat") }), pw2, err, submit);
  $("#app").removeAttribute("aria-busy");
  $("#app").replaceChildren(h("main", { id: "main", class: "centered" }, languageLinks(), form));
  pw.focus();
}
