"""Portable credentials: the installation as an Open Badges 3.0 issuer (its profile and
Ed25519 keys, published at stable URLs), and the credentials it issues and verifies.

The top layer of the app: it reads the record (apprentice.records); nothing below it
imports it (tests/test_layers.py).
"""
