"""ChatClose - channel.close and message.delete: the actions that write a transcript to S3
(closing archives it; a deletion in a closed channel archives it again, without the text)."""

from switchboard.edge import ws

handler = ws.action_endpoint(["channel.close", "message.delete"])
