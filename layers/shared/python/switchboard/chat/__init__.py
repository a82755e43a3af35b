"""Support chat: the actions, their policy, transcripts, attachments and reaching live
connections. Empty on purpose: importing the package loads no submodule (cold start).
"""
