"""Who is signing in and what their session may do: sign-ins, sessions, second factor, passwords,
rate limits, post-login. Empty on purpose: importing the package loads no submodule (cold start).
"""
