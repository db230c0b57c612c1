"""Helpers for turnpike's end-to-end tests: the gateway process, upstream servers and clients.

Everything here talks to 127.0.0.1 only; every wait has a deadline and every socket a timeout.
"""
