"""Switchboard's local stack and CLI: ``switchboard dev``, ``invoke``, ``seed``.

Reads routes, handlers and tables from ``template.yaml`` (one source of truth) and backs
AWS with moto, in-process, so nothing needs Docker or an AWS account.
"""
