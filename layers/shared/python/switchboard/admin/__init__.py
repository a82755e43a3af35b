"""Tenant administration: operators and the audit trail. Empty on purpose: importing the
package loads no submodule (cold start).
"""
