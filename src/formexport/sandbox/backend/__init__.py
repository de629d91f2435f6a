"""sandbox.backend"""
