"""PostLogin - the post-login hook as a function, for sign-ins Switchboard does not perform.

One function, three doors (told apart by the event's shape; switchboard.edge.post_login):

* a Cognito user pool's **Pre Token Generation** trigger (``triggerSource``
  ``TokenGeneration_*``): the event comes back with the chat token and the claims added;
* the signed HTTPS hook **POST /hooks/post-login** an Auth0 Action calls (an HTTP API
  event): ``{"chat_token", "claims"}``;
* a **direct invocation** (IAM-authorised) with ``{"tenant", "user": {"user_id", ...}}``:
  ``{"chat_token", "claims", "session_id"}``.
"""

from switchboard.edge import post_login

handler = post_login.handler
