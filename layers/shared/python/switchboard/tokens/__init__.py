"""What Switchboard signs and seals: the JWS layer, signing keys and their rotation, access and
chat tokens, opaque tokens, sealed secrets. Empty on purpose: only the functions that sign or
verify pay for importing cryptography (cold start).
"""
