// Where the APIs are, and the tenant the sign-in form starts with: CFG, filled once at boot by
// loadConfig().
//
// The /switchboard-config.json served next to the page decides whenever there is one: a link must
// not be able to point the back office - and the password typed into it, and the chat token it
// connects with - at another server. ?api=&ws= count only where no config is served and the page
// comes from this machine (development); else the `switchboard dev` defaults beside this page
// (:3000 and :3001). ?tenant= only fills in the form.

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Filled in place by loadConfig(), so every module that imports it sees the result. */
export const CFG = { api: "", ws: "", tenant: "" };

export async function loadConfig() {
  const q = new URLSearchParams(location.search);
  let saved = {};
  try { saved = JSON.parse(sessionStorage.getItem("sb.config") || "{}"); } catch { saved = {}; }
  let file = null;
  try {
    const r = await fetch("/switchboard-config.json", { cache: "no-store" });
    if (r.ok) file = await r.json();
  } catch { /* none served: development defaults */ }
  const host = location.hostname || "127.0.0.1";
  const linked = !file && LOOPBACK.has(host) ? q : new URLSearchParams();
  file = file || {};
  const cfg = {
    api: (linked.get("api") || file.api || `${location.protocol}//${host}:3000`).replace(/\/+$/, ""),
    ws: (linked.get("ws") || file.ws || `${location.protocol === "https:" ? "wss" : "ws"}://${host}:3001`)
      .replace(/\/+$/, ""),
    tenant: q.get("tenant") || saved.tenant || file.tenant || "demo",
  };
  sessionStorage.setItem("sb.config", JSON.stringify({ tenant: cfg.tenant }));
  Object.assign(CFG, cfg);
  return CFG;
}
