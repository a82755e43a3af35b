"""ChatAttachment - attachment.presign: a size- and type-bounded S3 presigned POST."""

from switchboard import ws

handler = ws.action_endpoint(["attachment.presign"])
