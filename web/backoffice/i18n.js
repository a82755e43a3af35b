// The back office's words, in English and Spanish, as the widget's are: one catalogue, picked from
// ?lang= (remembered), else the page's <html lang> when set by the host, else the browser's.
// t("key", {name}) fills {name}. docs/web.md, "The back office's languages", lists what is
// translated so far: the header, the navigation, the inbox and the support-day tools; the admin
// forms of earlier issues are still English only (their keys come in as they are touched).

const STRINGS = {
  en: {
    "nav.inbox": "Inbox", "nav.team": "Team", "nav.security": "Security", "nav.operators": "Operators",
    "nav.sessions": "Sessions", "nav.events": "Audit log", "nav.reports": "Reports", "nav.settings": "Settings",
    "nav.canned": "Canned replies", "nav.label": "Sections", "signout": "Sign out",
    "tab.mine": "Assigned to me", "tab.queued": "Queued", "tab.all": "All open", "tab.found": "Found",
    "inbox": "Inbox", "lists": "Conversation lists", "pick": "Pick a conversation from the list.",
    "nobody": "Nobody is waiting.", "nothing": "Nothing here yet.",
    "presence": "My status", "online": "Online", "away": "Away",
    "notify.enable": "Desktop notifications", "notify.on": "Notifications on", "notify.blocked": "Notifications blocked",
    "sound": "Sound", "notify.queued": "A new conversation is waiting", "notify.assigned": "A conversation was assigned to you",
    "notify.message": "New message from {name}",
    "visitor": "Visitor", "visitor.panel": "About the visitor", "visitor.level": "Level",
    "visitor.anonymous": "anonymous", "visitor.known": "identified by the website", "visitor.name": "Name",
    "visitor.email": "Email", "visitor.follow": "Follow-up email", "visitor.signed": "Signed attributes",
    "visitor.unsigned": "Unsigned attributes (not verified: the visitor's browser could have changed them)",
    "visitor.page": "Page", "visitor.referrer": "Came from", "visitor.language": "Language",
    "visitor.time": "Local time", "visitor.prechat": "Pre-chat answers", "visitor.past": "Past conversations",
    "close": "Close", "visitor.close": "Close the visitor panel", "visitor.none": "None", "visitor.unknown": "unknown", "visitor.rating": "Rating",
    "note": "Private note", "note.toggle": "Private note (only staff see it)", "note.placeholder": "Write a private note…",
    "reply": "Reply", "reply.placeholder": "Write a reply… (/ for canned replies)", "send": "Send",
    "canned.list": "Canned replies", "canned.count": "{n} canned replies match", "canned.none": "No canned reply matches",
    "labels": "Labels", "label.add": "Add a label", "label.remove": "Remove label {label}", "label.added": "Add",
    "transfer": "Transfer", "transfer.title": "Transfer this conversation", "transfer.to": "To",
    "transfer.note": "Note for your colleague (optional)", "transfer.go": "Transfer", "cancel": "Cancel",
    "transfer.nobody": "No colleague is online with room for another chat.", "transfer.done": "Transferred to {name}.",
    "find": "Find conversations", "find.by": "By", "find.value": "Value", "find.go": "Find",
    "find.status": "status", "find.assignee": "assignee", "find.label": "label", "find.visitor": "visitor",
    "find.more": "Load more", "find.results": "{n} conversations found",
    "back.inbox": "← Inbox", "older": "Load older messages", "messages": "Messages", "claim": "Claim",
    "assign.me": "Assign to me", "ro.closed": "This conversation is closed.",
    "ro.queued": "Claim this conversation to reply.", "ro.other": "Only the assigned operator can reply.",
    "you": "You", "deleted": "(message deleted)", "seen": "Seen", "delete": "Delete", "delete.message": "Delete message",
    "not.sent": "Not sent: {why}", "sending": "Sending…",
    "close.confirm": "Close this conversation? The visitor can no longer write in it.", "closed": "Conversation closed.",
    "delete.confirm": "Delete this message?",
    "ro.notes": "You can still write a private note for staff.", "note.write": "Write a private note",
    "transfer.away": "away", "transfer.offline": "offline", "transfer.full": "no room",
    "ops.max.none": "no limit", "ops.max.bad": "Max chats is a whole number from 1 to 50, or empty for no limit.",
    "ops.max.set": "{email} now takes at most {n} chats.", "ops.max.cleared": "{email} has no chat limit now.",
  },
  es: {
    "nav.inbox": "Bandeja", "nav.team": "Equipo", "nav.security": "Seguridad", "nav.operators": "Agentes",
    "nav.sessions": "Sesiones", "nav.events": "Registro", "nav.reports": "Informes", "nav.settings": "Ajustes",
    "nav.canned": "Respuestas guardadas", "nav.label": "Secciones", "signout": "Cerrar sesión",
    "tab.mine": "Asignadas a mí", "tab.queued": "En cola", "tab.all": "Todas abiertas", "tab.found": "Encontradas",
    "inbox": "Bandeja", "lists": "Listas de conversaciones", "pick": "Elige una conversación de la lista.",
    "nobody": "Nadie está esperando.", "nothing": "Aún no hay nada aquí.",
    "presence": "Mi estado", "online": "Disponible", "away": "Ausente",
    "notify.enable": "Notificaciones de escritorio", "notify.on": "Notificaciones activas",
    "notify.blocked": "Notificaciones bloqueadas", "sound": "Sonido",
    "notify.queued": "Una conversación nueva está esperando", "notify.assigned": "Se te asignó una conversación",
    "notify.message": "Mensaje nuevo de {name}",
    "visitor": "Visitante", "visitor.panel": "Sobre el visitante", "visitor.level": "Nivel",
    "visitor.anonymous": "anónimo", "visitor.known": "identificado por el sitio web", "visitor.name": "Nombre",
    "visitor.email": "Correo", "visitor.follow": "Correo de seguimiento", "visitor.signed": "Atributos firmados",
    "visitor.unsigned": "Atributos sin firmar (no verificados: el navegador del visitante pudo cambiarlos)",
    "visitor.page": "Página", "visitor.referrer": "Viene de", "visitor.language": "Idioma",
    "visitor.time": "Hora local", "visitor.prechat": "Respuestas previas", "visitor.past": "Conversaciones anteriores",
    "close": "Cerrar", "visitor.close": "Cerrar el panel del visitante", "visitor.none": "Ninguna", "visitor.unknown": "desconocida", "visitor.rating": "Valoración",
    "note": "Nota privada", "note.toggle": "Nota privada (solo la ve el equipo)",
    "note.placeholder": "Escribe una nota privada…", "reply": "Respuesta",
    "reply.placeholder": "Escribe una respuesta… (/ para respuestas guardadas)", "send": "Enviar",
    "canned.list": "Respuestas guardadas", "canned.count": "{n} respuestas coinciden",
    "canned.none": "Ninguna respuesta coincide",
    "labels": "Etiquetas", "label.add": "Añadir una etiqueta", "label.remove": "Quitar la etiqueta {label}",
    "label.added": "Añadir",
    "transfer": "Transferir", "transfer.title": "Transferir esta conversación", "transfer.to": "A",
    "transfer.note": "Nota para tu compañero (opcional)", "transfer.go": "Transferir", "cancel": "Cancelar",
    "transfer.nobody": "Ningún compañero está disponible con espacio para otro chat.",
    "transfer.done": "Transferida a {name}.",
    "find": "Buscar conversaciones", "find.by": "Por", "find.value": "Valor", "find.go": "Buscar",
    "find.status": "estado", "find.assignee": "agente", "find.label": "etiqueta", "find.visitor": "visitante",
    "find.more": "Cargar más", "find.results": "{n} conversaciones encontradas",
    "back.inbox": "← Bandeja", "older": "Cargar mensajes anteriores", "messages": "Mensajes", "claim": "Atender",
    "assign.me": "Asignármela", "ro.closed": "Esta conversación está cerrada.",
    "ro.queued": "Atiende esta conversación para responder.", "ro.other": "Solo el agente asignado puede responder.",
    "you": "Tú", "deleted": "(mensaje eliminado)", "seen": "Visto", "delete": "Eliminar",
    "delete.message": "Eliminar mensaje", "not.sent": "No enviado: {why}", "sending": "Enviando…",
    "close.confirm": "¿Cerrar esta conversación? El visitante ya no podrá escribir en ella.",
    "closed": "Conversación cerrada.", "delete.confirm": "¿Eliminar este mensaje?",
    "ro.notes": "Aún puedes escribir una nota privada para el equipo.", "note.write": "Escribir una nota privada",
    "transfer.away": "ausente", "transfer.offline": "desconectado", "transfer.full": "sin espacio",
    "ops.max.none": "sin límite", "ops.max.bad": "Máx. de chats es un número entero de 1 a 50, o vacío para no tener límite.",
    "ops.max.set": "{email} atiende ahora como máximo {n} chats.", "ops.max.cleared": "{email} ya no tiene límite de chats.",
  },
};

function pick() {
  const asked = new URLSearchParams(location.search).get("lang");
  try {
    if (asked) localStorage.setItem("switchboard:backoffice:lang", asked);
  } catch { /* storage disabled: this page only */ }
  let stored = null;
  try { stored = localStorage.getItem("switchboard:backoffice:lang"); } catch { /* none */ }
  for (const wanted of [asked, stored, ...(navigator.languages || [navigator.language])]) {
    const lang = String(wanted || "").toLowerCase().split("-")[0];
    if (STRINGS[lang]) return lang;
  }
  return "en";
}

export const LOCALE = pick();
document.documentElement.lang = LOCALE;

/** The catalogue's text for ``key`` in the back office's language, {name}s filled from ``vars``. */
export function t(key, vars) {
  const text = STRINGS[LOCALE][key] || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
}
