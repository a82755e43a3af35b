// Team channels: the form that creates one, its members picked by name from the staff directory.

import { h, toast } from "../dom.js";
import { chat } from "../socket.js";
import { S, loadStaff, me } from "../state.js";
import { watch } from "./channels.js";
import { t } from "../i18n.js";

export function teamCreateForm() {
  const name = h("input", { id: "team-name", required: true, maxlength: "100", placeholder: t("team.name") });
  const pick = h("div", { class: "members", role: "group", "aria-label": t("team.members") });
  const manual = h("input", { id: "team-members", placeholder: t("team.ids"),
    "aria-label": t("team.ids") });
  const fill = () => {
    // a refill (the directory read again) keeps what is ticked, and what was typed in the ids
    // box goes into the picker's place only while there is no picker
    const ticked = new Set([...pick.querySelectorAll("input:checked")].map((b) => b.value));
    pick.replaceChildren();
    if (S.staff) {
      for (const s of S.staff.filter((o) => o.id !== me().id)) {
        const box = h("input", { type: "checkbox", value: s.id, id: `m-${s.id}` });
        box.checked = ticked.has(s.id) || manual.value.split(",").map((v) => v.trim()).includes(s.id);
        pick.append(h("label", { for: `m-${s.id}`, class: "check" }, box, ` ${s.name} (${t(`role.${s.role}`)})`));
      }
      manual.value = "";
      manual.hidden = true;
    }
  };
  fill();
  const details = h("details", {}, h("summary", { text: t("team.new") }), name, pick, manual,
    h("button", { type: "submit", text: t("team.create") }));
  // colleagues added since the last look are pickable too: read again when the form opens
  details.addEventListener("toggle", () => { if (details.open) loadStaff().then(fill).catch(() => {}); });
  const form = h("form", { class: "team-create", onsubmit: async (e) => {
    e.preventDefault();
    const members = [...pick.querySelectorAll("input:checked")].map((b) => b.value)
      .concat(manual.hidden ? [] : manual.value.split(",").map((s) => s.trim()).filter(Boolean));
    if (!members.length) { toast(t("team.pick"), "error"); return; }
    try {
      const { channel } = await chat.request("channel.create", { type: "team", name: name.value.trim(), members });
      S.channels.set(channel.id, channel);
      await watch(channel.id).catch(() => {});
      name.value = "";
      location.hash = `#/team/${channel.id}`;
    } catch (err) {
      toast(t("team.create_failed", { why: err.message || err.code }), "error");
    }
  } },
  details);
  return form;
}
