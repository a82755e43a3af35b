"""The edges: API Gateway HTTP and WebSocket events in, answers out, and the request models.

The only modules that know an event's shape. They parse and validate what clients send, call
one domain function with domain arguments, and map the error tree to answers. Nothing outside
this folder imports it (tests/deploy/test_layer_structure.py). Empty on purpose: importing the
package loads no submodule (cold start).
"""
