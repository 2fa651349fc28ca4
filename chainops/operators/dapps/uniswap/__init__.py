"""Uniswap, one package per protocol version: ``v2`` and ``v3``."""
