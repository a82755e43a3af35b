"""ChatConversation - actions that change a conversation and tell its watchers."""

from switchboard.edge import ws

handler = ws.action_endpoint(
    ["support.open", "channel.assign", "channel.create", "message.send", "typing", "read", "channel.label",
     "presence.set", "visitor.email", "visitor.context", "channel.rate"]
)
