// Admin: the tenant's settings (GET / PATCH /admin/tenant), with a live preview of the chat
// widget as the fields change, and the identity / hook secret rotation (shown once).

import { call } from "../api.js";
import { h, toast } from "../dom.js";
import { t } from "../i18n.js";

const DAYS = [["mon", t("day.mon")], ["tue", t("day.tue")], ["wed", t("day.wed")], ["thu", t("day.thu")],
  ["fri", t("day.fri")], ["sat", t("day.sat")], ["sun", t("day.sun")]];
const HEX = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

let uid = 0;
/** A labelled control: the label names it, the hint describes it (aria-describedby). */
function field(label, control, hint) {
  const id = control.id || (control.id = `set-${++uid}`);
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control, hintEl);
}

function check(label, control, hint) {
  const id = control.id || (control.id = `set-${++uid}`);
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field check" }, control, h("label", { for: id, text: label }), hintEl);
}

const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

/** The widget as a visitor would see it: launcher and panel in the chosen colour and corner. */
function preview() {
  const title = h("strong", { class: "pv-title" });
  const greeting = h("p", { class: "pv-greeting" });
  // a speech bubble drawn as SVG (an emoji would depend on the admin's fonts)
  const bubble = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  bubble.setAttribute("viewBox", "0 0 24 24");
  bubble.setAttribute("class", "pv-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16v11H8l-4 4z");
  bubble.append(path);
  const launcher = h("span", { class: "pv-launcher", "aria-hidden": "true" }, bubble);
  const panel = h("div", { class: "pv-panel" }, h("div", { class: "pv-head" }, title), greeting,
    h("div", { class: "pv-input", text: t("set.pv_type") }));
  const frame = h("div", { class: "pv-frame", "data-testid": "widget-preview" }, panel, launcher);
  const box = h("section", { class: "preview", "aria-labelledby": "pv-h" },
    h("h2", { id: "pv-h", text: t("set.preview") }),
    h("p", { class: "hint", text: t("set.preview_hint") }),
    frame);
  return {
    box,
    show(w) {
      title.textContent = w.title;
      greeting.textContent = w.greeting;
      // CSSOM custom property (allowed by the page's style-src 'self'; no style attribute is written)
      frame.style.setProperty("--pv-accent", HEX.test(w.color) ? w.color : "#2f6feb");
      frame.dataset.position = w.position;
      frame.setAttribute("aria-label", t("set.preview_label", { title: w.title, position: t(w.position === "left" ? "set.left" : "set.right") }));
    },
  };
}

export function renderSettings(main) {
  const status = h("p", { class: "muted", role: "status", text: t("loading") });
  const errors = h("p", { class: "error", role: "alert" });
  main.replaceChildren(h("section", { class: "page settings" }, h("h1", { text: t("nav.settings") }), status, errors));
  let loaded = null;
  const load = async () => {
    try {
      loaded = await call("GET", "/admin/tenant");
      status.textContent = "";
      build(loaded);
    } catch (err) {
      status.textContent = err.status === 404 ? t("set.unavailable") :
        t("set.load_failed", { why: err.message });
    }
  };

  function build(s) {
    const name = h("input", { type: "text", value: s.name, maxlength: "100", required: true, autocomplete: "organization" });
    const title = h("input", { type: "text", value: s.widget.title, maxlength: "60", required: true });
    const colorPick = h("input", { type: "color", "aria-label": t("set.pick_colour"), value: s.widget.color.length === 7 ? s.widget.color : "#2f6feb" });
    const colorText = h("input", { type: "text", value: s.widget.color, maxlength: "7", pattern: "#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", spellcheck: "false" });
    const greeting = h("textarea", { rows: "2", maxlength: "280" });
    greeting.value = s.widget.greeting;
    const position = h("select", {}, h("option", { value: "right", text: t("set.bottom_right") }),
      h("option", { value: "left", text: t("set.bottom_left") }));
    position.value = s.widget.position;
    const origins = h("textarea", { rows: "3", spellcheck: "false" });
    origins.value = s.allowed_origins.join("\n");
    const attachments = h("input", { type: "checkbox" });
    attachments.checked = s.visitor_attachments;
    const verified = h("input", { type: "checkbox" });
    verified.checked = s.verified_visitors_only;
    const away = h("textarea", { rows: "2", maxlength: "1000" });
    away.value = s.away_message || "";
    const offline = h("select", {}, ["off", "optional", "required"].map((v) => h("option", { value: v, text: t(`set.email.${v}`) })));
    offline.value = s.email_when_offline;
    const retention = h("input", { type: "number", min: "1", max: "3650", inputmode: "numeric",
      value: s.message_retention_days == null ? "" : String(s.message_retention_days) });
    const zone = h("input", { type: "text", value: s.hours ? s.hours.time_zone : "", placeholder: "Europe/Paris", spellcheck: "false" });
    const dayRows = DAYS.map(([key, label]) => {
      const span = s.hours && s.hours.weekly.find((w) => w.day === key);
      const on = h("input", { type: "checkbox", id: `day-${key}`, checked: !!span });
      const from = h("input", { type: "time", value: span ? span.from : "09:00", "aria-label": t("set.opens", { day: label }) });
      const to = h("input", { type: "time", value: span ? span.to : "17:00", "aria-label": t("set.closes", { day: label }) });
      return { key, on, from, to, row: h("tr", {}, h("th", { scope: "row" }, on, " ", h("label", { for: `day-${key}`, text: label })), h("td", {}, from), h("td", {}, to)) };
    });
    // the widget's languages, in the tenant's order (empty: every language the widget has)
    const locales = h("input", { type: "text", value: (s.locales || []).join(", "), spellcheck: "false",
      placeholder: "en, es", autocomplete: "off" });
    const holidays = h("textarea", { rows: "2", spellcheck: "false", placeholder: "2026-12-25" });
    holidays.value = s.hours ? s.hours.holidays.join("\n") : "";
    const prechat = h("textarea", { rows: "4", spellcheck: "false", class: "code" });
    prechat.value = JSON.stringify(s.prechat, null, 2);
    const webhooks = h("textarea", { rows: "4", spellcheck: "false", class: "code" });
    webhooks.value = JSON.stringify(s.webhooks, null, 2);

    const pv = preview();
    const widgetNow = () => ({ title: title.value || name.value, greeting: greeting.value, color: colorText.value,
      position: position.value });
    const refresh = () => pv.show(widgetNow());
    colorPick.addEventListener("input", () => { colorText.value = colorPick.value; refresh(); });
    colorText.addEventListener("input", () => { if (HEX.test(colorText.value) && colorText.value.length === 7) colorPick.value = colorText.value; refresh(); });
    for (const el of [name, title, greeting, position]) el.addEventListener("input", refresh);
    refresh();

    function changes() {
      const out = {};
      const widget = {};
      const w = widgetNow();
      for (const k of ["title", "greeting", "color", "position"]) if (w[k] !== s.widget[k]) widget[k] = w[k];
      if (Object.keys(widget).length) out.widget = widget;
      if (name.value !== s.name) out.name = name.value;
      const o = lines(origins.value);
      if (JSON.stringify(o) !== JSON.stringify(s.allowed_origins)) out.allowed_origins = o;
      if (attachments.checked !== s.visitor_attachments) out.visitor_attachments = attachments.checked;
      if (verified.checked !== s.verified_visitors_only) out.verified_visitors_only = verified.checked;
      if ((away.value.trim() || null) !== s.away_message) out.away_message = away.value.trim() || null;
      if (offline.value !== s.email_when_offline) out.email_when_offline = offline.value;
      const langs = locales.value.split(/[\s,]+/).map((l) => l.trim().toLowerCase()).filter(Boolean);
      if (s.locales && JSON.stringify(langs) !== JSON.stringify(s.locales)) out.locales = langs.length ? langs : null;
      const days = retention.value === "" ? null : Number(retention.value);
      if (days !== s.message_retention_days) out.message_retention_days = days;
      const hours = zone.value.trim() ? { time_zone: zone.value.trim(),
        weekly: dayRows.filter((d) => d.on.checked).map((d) => ({ day: d.key, from: d.from.value, to: d.to.value })),
        holidays: lines(holidays.value) } : null;
      if (JSON.stringify(hours) !== JSON.stringify(s.hours)) out.hours = hours;
      for (const [key, box] of [["prechat", prechat], ["webhooks", webhooks]]) {
        let parsed;
        try { parsed = JSON.parse(box.value || "[]"); } catch { throw new Error(t("set.bad_json", { field: key })); }
        if (JSON.stringify(parsed) !== JSON.stringify(s[key])) out[key] = parsed;
      }
      return out;
    }

    const save = h("button", { type: "submit", class: "primary", text: t("set.save") });
    const form = h("form", { class: "settings-form", "aria-label": t("set.form"), novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        errors.textContent = "";
        let body;
        try { body = changes(); } catch (err) { errors.textContent = err.message; return; }
        if (!Object.keys(body).length) { toast(t("set.nothing")); return; }
        save.disabled = true;
        try {
          loaded = await call("PATCH", "/admin/tenant", body);
          toast(t("set.saved"), "ok");
          build(loaded);
        } catch (err) {
          const where = (err.body && err.body.errors || []).map((x) => `${x.loc}: ${x.msg}`).join("; ");
          errors.textContent = t("set.not_saved", { why: where || err.message });
          save.disabled = false;
        }
      } },
    h("fieldset", {}, h("legend", { text: t("set.general") }), field(t("name"), name)),
    h("fieldset", {}, h("legend", { text: t("set.widget") }),
      field(t("set.title"), title, t("set.title_hint")),
      h("div", { class: "field" }, h("label", { for: colorText.id || (colorText.id = "set-color"), text: t("set.colour") }),
        h("div", { class: "row" }, colorPick, colorText)),
      field(t("set.greeting"), greeting),
      field(t("set.position"), position),
      field(t("set.locales"), locales, t("set.locales_hint"))),
    h("fieldset", {}, h("legend", { text: t("set.visitors") }),
      field(t("set.origins"), origins, t("set.origins_hint")),
      check(t("set.attach"), attachments),
      check(t("set.verified"), verified, t("set.verified_hint"))),
    h("fieldset", {}, h("legend", { text: t("set.hours") }),
      field(t("set.zone"), zone, t("set.zone_hint")),
      h("table", { class: "grid hours", "aria-label": t("set.opening") },
        h("thead", {}, h("tr", {}, ["rep.day", "set.col_opens", "set.col_closes"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, dayRows.map((d) => d.row))),
      field(t("set.holidays"), holidays, t("set.holidays_hint")),
      field(t("set.away"), away),
      field(t("set.ask_email"), offline)),
    h("fieldset", {}, h("legend", { text: t("set.more") }),
      field(t("set.prechat"), prechat, t("set.prechat_hint")),
      field(t("set.keep"), retention, t("set.keep_hint")),
      field(t("set.webhooks"), webhooks, t("set.webhooks_hint"))),
    h("div", { class: "actions" }, save));

    main.querySelector(".settings").replaceChildren(h("h1", { text: t("nav.settings") }), status, errors,
      h("div", { class: "settings-layout" }, form, pv.box), secretsSection(s));
  }
  load();
}

function secretsSection(s) {
  const out = h("div", { role: "status", class: "secret-out" });
  const grace = h("select", { id: "grace" }, [["3600", t("set.1h")], ["86400", t("set.24h")], ["604800", t("set.7d")],
    ["0", t("set.no_overlap")]].map(([v, t]) => h("option", { value: v, text: t })));
  grace.value = "86400";
  const rotate = (kind, label) => h("button", { type: "button", text: t("set.rotate", { label }), onclick: async (e) => {
    if (!confirm(t("set.rotate_confirm", { label }))) return;
    e.target.disabled = true;
    try {
      const { secret } = await call("POST", `/admin/tenant/${kind}-secret`, { grace_seconds: Number(grace.value) });
      const box = h("input", { type: "text", readonly: true, value: secret, id: `new-${kind}-secret`, spellcheck: "false", class: "code" });
      out.replaceChildren(h("label", { for: box.id, text: t("set.new_secret", { label }) }), box);
      box.focus();
      box.select();
    } catch (err) {
      out.replaceChildren(h("p", { class: "error", text: t("set.not_rotated", { why: err.message }) }));
    } finally {
      e.target.disabled = false;
    }
  } });
  const until = (list) => list.length ? t("set.prev_until", { when: new Date(list[list.length - 1] * 1000).toLocaleString() }) : t("set.no_prev");
  return h("section", { class: "secrets", "aria-labelledby": "sec-h" }, h("h2", { id: "sec-h", text: t("set.secrets") }),
    h("p", { class: "hint", text: t("set.secrets_state", { identity: until(s.previous_secrets_until.identity), hook: until(s.previous_secrets_until.hook) }) }),
    field(t("set.overlap"), grace, t("set.overlap_hint")),
    h("div", { class: "row" }, rotate("identity", t("set.identity_secret")), rotate("hook", t("set.hook_secret"))), out);
}
