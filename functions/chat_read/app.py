"""ChatRead - channel.query, channel.watch, channel.history: reads only, replies only (no posting)."""

from switchboard.edge import ws

handler = ws.action_endpoint(["channel.query", "channel.watch", "channel.history"])
