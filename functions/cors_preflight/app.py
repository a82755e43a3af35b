"""OPTIONS /{proxy+} - CORS preflight for every route (the real answer decides per tenant)."""

from switchboard.edge.httpapi import preflight

handler = preflight
