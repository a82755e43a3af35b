"""ChatAttachment - attachment.presign: a size- and type-bounded S3 presigned POST;
attachment.open: a short-lived presigned GET (a download) of an upload of the channel."""

from switchboard.edge import ws

handler = ws.action_endpoint(["attachment.presign", "attachment.open"])
