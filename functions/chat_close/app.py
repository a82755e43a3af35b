"""ChatClose - channel.close: closes the channel and archives its transcript to S3."""

from switchboard import ws

handler = ws.action_endpoint(["channel.close"])
